"""Rasterizes the figure font once: DejaVu Sans at 12 px, anti-aliased (FreeType through Pillow), into
src/render/font-dejavu-12.json, the glyph coverage maps the pure-JS PNG renderer draws with.

    /usr/bin/python3 scripts/make-font.py /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf

DejaVu fonts are free (Bitstream Vera / Arev licence); the licence travels with the data in the JSON.
"""
import base64, json, sys
from PIL import ImageFont

PX = 12
font = ImageFont.truetype(sys.argv[1], PX)
ascent, descent = font.getmetrics()
chars = [chr(c) for c in range(32, 127)] + ['…', '±', '−', '×', '·', '–', '—', '→', 'µ', '°']
glyphs = {}
for ch in chars:
    mask, offset = font.getmask2(ch, mode='L')
    w, h = mask.size
    glyphs[ch] = {
        'advance': round(font.getlength(ch), 3),
        'left': offset[0],
        'top': offset[1],
        'width': w,
        'height': h,
        'alpha': base64.b64encode(bytes(mask)).decode('ascii'),
    }
cap = font.getmask2('H', mode='L')
out = {
    'font': 'DejaVu Sans',
    'px': PX,
    'ascent': ascent,
    'descent': descent,
    'capHeight': cap[0].size[1],
    'capTop': cap[1][1],
    'licence': 'DejaVu fonts: Bitstream Vera Fonts Copyright (c) 2003 Bitstream, Inc.; DejaVu changes are in the public domain. Permission is granted to use, copy and distribute the font data (see https://dejavu-fonts.github.io/License.html).',
    'glyphs': glyphs,
}
json.dump(out, open('src/render/font-dejavu-12.json', 'w'), ensure_ascii=False, separators=(',', ':'))
print(ascent, descent, out['capHeight'], out['capTop'], len(glyphs))
