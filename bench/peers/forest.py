# scikit-learn RandomForestClassifier(100 trees) on the same digits split (npy files written by the runner):
# fit, then predict the test set `runs` times. argv: <dir> <seed> <runs> <n_jobs>
import json, statistics, sys, time
import numpy as np
from sklearn.ensemble import RandomForestClassifier
d, seed, runs, jobs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
L = lambda n: np.load('%s/%s-%d.npy' % (d, n, seed))
xtr, ytr, xte, yte = L('xtr').astype(np.float32), L('ytr'), L('xte').astype(np.float32), L('yte')
m = RandomForestClassifier(n_estimators=100, random_state=seed, n_jobs=jobs).fit(xtr, ytr)
times = []
for run in range(runs + 1):
    t = time.perf_counter(); p = m.predict(xte); ms = (time.perf_counter() - t) * 1000
    if run > 0: times.append(ms)
acc = float((p == yte).mean())
print(json.dumps({'ms': statistics.median(times), 'accuracy': acc, 'check': 'seed %d: %d test digits, accuracy %.2f %%' % (seed, len(yte), 100 * acc)}))
