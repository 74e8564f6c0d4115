"""The constructor recorder behind whole-module save (`axonal.save(model, f)`).

`Module.__init_subclass__` calls `record_init(cls)` for every Module subclass. When the class
defines its own `__init__`, that function is wrapped once: a call whose instance's class resolves
`__init__` to this very wrapper is the outermost constructor call (a subclass's `super().__init__()`
resolves to the subclass's wrapper instead), and it stores the arguments, as given, in the
instance's `__dict__` under `_init_args` before running the real constructor. One dict store and
one attribute lookup per module built; nothing is copied. `nn/_saved_module.py` reads the record.
"""
import functools

RECORD = "_init_args"


def record_init(cls):
    init = cls.__dict__.get("__init__")
    if init is None or getattr(init, "_records_args", False):
        return

    @functools.wraps(init)
    def __init__(self, *args, **kwargs):
        if type(self).__init__ is __init__:
            self.__dict__[RECORD] = (args, kwargs)
        init(self, *args, **kwargs)

    __init__._records_args = True
    cls.__init__ = __init__


def init_subclass(cls, **kwargs):
    """`Module.__init_subclass__` (a plain function there: Python makes it a classmethod)."""
    owner = next(k for k in cls.__mro__[1:]
                 if getattr(k.__dict__.get("__init_subclass__"), "__func__", None) is init_subclass)
    super(owner, cls).__init_subclass__(**kwargs)
    record_init(cls)
