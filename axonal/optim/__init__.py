"""Optimizers, learning-rate schedules and regularization penalties.

    opt = axonal.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = axonal.optim.lr_scheduler.StepLR(opt, step_size=30, gamma=0.1)
    for epoch in range(epochs):
        for x, y in loader:
            opt.zero_grad()
            loss_fn(model(x), y).backward()
            opt.step()
        sched.step()

The classes follow PyTorch's `torch.optim` (names, argument order, defaults, update formulas and
state_dict layout). Each update rule is also available as a pure function on arrays in
`axonal.optim._functional`.
"""
from . import lr_scheduler, regularization, swa_utils
from .adadelta import Adadelta
from .adafactor import Adafactor
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .adam_variants import Adamax, NAdam, RAdam
from .asgd_rprop import ASGD, Rprop
from .lbfgs import LBFGS
from .optimizer import Optimizer, required
from .regularization import l1_penalty, l2_penalty
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["SGD", "LBFGS", "ASGD", "Adafactor", "Adamax", "NAdam", "RAdam", "Rprop",
           "Adadelta", "Adagrad", "Adam", "AdamW", "Optimizer", "RMSprop", "l1_penalty",
           "l2_penalty", "lr_scheduler", "regularization", "required", "swa_utils"]

from .._compat import module_getattr as _module_getattr

# a PyTorch name that Axonal lacks: "axonal does not implement torch.optim.X yet" (PEP 562)
__getattr__ = _module_getattr("torch.optim", globals())
