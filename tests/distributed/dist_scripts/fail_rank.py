"""Failure behaviour, run under `mpiexec -n 2` by tests/distributed/test_distributed.py.

    mpiexec -n 2 python tests/distributed/dist_scripts/fail_rank.py MODE

MODE:
  raise  Trainer.fit with DDP; rank 1 raises in the middle of epoch 0 while rank 0 goes on into the
         next gradient all-reduce. The excepthook installed by init_process_group must print rank 1's
         traceback and abort the job: mpiexec exits non-zero instead of hanging.
  hang   rank 1 sleeps instead of joining an all_reduce; rank 0's watchdog (timeout 2 s) must abort.
  exit   rank 1 calls sys.exit(4) inside launch.abort_on_error(); the job must end, non-zero.
  ok     the same training as `raise` without the failure (prints one line, from rank 0 only).
"""
import sys
import time

import axonal
import axonal.distributed as dist
from axonal import nn, optim
from axonal.train import Callback, Trainer
from axonal.utils.data import TensorDataset


class FailMidEpoch(Callback):
    def on_batch_end(self, step, logs=None):
        if step == 3 and dist.get_rank() == 1:
            raise RuntimeError("injected failure on rank 1 at step 3")


def train(fail):
    axonal.manual_seed(0)
    x, y = axonal.randn(512, 20), axonal.randint(0, 3, (512,))
    model = dist.DistributedDataParallel(nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Linear(32, 3)))
    loader = dist.sharded_loader(TensorDataset(x, y), 32, seed=0)
    trainer = Trainer(model, optim.SGD(model.parameters(), lr=0.1), nn.functional.cross_entropy,
                      callbacks=[FailMidEpoch()] if fail else [])
    history = trainer.fit(loader, epochs=2, verbose=0)
    if dist.is_main_process():
        print(f"trained: loss {history.history['loss'][-1]:.4f}", flush=True)


def main(mode):
    dist.init_process_group("mpi", timeout=2 if mode == "hang" else 60)
    r = dist.get_rank()
    if mode in ("raise", "ok"):
        train(fail=mode == "raise")
    elif mode == "hang":
        if r == 1:
            time.sleep(120)
        dist.all_reduce(axonal.ones(3))
    elif mode == "exit":
        with dist.launch.abort_on_error():
            if r == 1:
                sys.exit(4)
            dist.all_reduce(axonal.ones(3))
    dist.barrier()


if __name__ == "__main__":
    main(sys.argv[1])
