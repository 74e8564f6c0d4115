"""Whole-module save and load without pickle: `axonal.save(model, f)`, then `axonal.load(f)`.

A Module is stored as a table entry (the checkpoint's `modules` list; see serialization.py):

    {"class": "axonal.nn.layers.linear:Linear",        the class, module:qualname
     "args": NODE, "kwargs": NODE,                      what the constructor was called with
     "key": "...",                                      a fingerprint of those arguments
     "children": [[name, ID or null]...],               _modules, in order
     "params": [[name, NODE or null]...], "buffers": [[name, NODE or null, persistent]...],
     "training": bool, "attrs": [[name, NODE]...]}      plain-data attributes (ints, strs...)

The constructor arguments were recorded when the module was built (nn/_init_record.py). Argument
nodes are the checkpoint's own (tensors, numbers, strings, containers) plus ["m", ID] a module,
["P", NODE] a Parameter, ["D", name] a dtype, ["V", "cuda:0"] a device, ["g", "mod:qual"] a class
or function, ["o", [[KEY, NODE]...]] an OrderedDict. Nothing is ever unpickled.

Loading calls each class with its arguments, then makes the tree what it was when saved: a child
the constructor built is kept when its class and argument fingerprint match the saved one (so ties
made in `__init__` survive), otherwise it is replaced by the saved child; parameters and buffers
take the stored tensors (one stored tensor shared by two modules loads as one Parameter), and
changed plain attributes and the training flag are restored. Classes come only from axonal, from
`serialization.safe_globals`/`add_safe_globals`, or from anywhere with `weights_only=False`; a
file that asks for anything else is refused, naming the class, before anything is constructed.
"""
import importlib
import json
import types
from collections import OrderedDict

from .. import _dtype as _dt
from .. import backend
from .._safe_globals import get_safe_globals
from ..tensor import Tensor
from ._init_record import RECORD
from .module import Module
from .parameter import Parameter

_REGISTRIES = {"_parameters", "_buffers", "_modules", "_non_persistent_buffers_set", RECORD,
               "training"}
_FUNCS = (types.FunctionType, types.BuiltinFunctionType)


def class_path(obj):
    return f"{obj.__module__}:{obj.__qualname__}"


def _record(m):
    rec = m.__dict__.get(RECORD)
    if rec is None and type(m).__init__ is Module.__init__:
        rec = ((), {})  # no constructor of its own: nothing to record
    return rec


def fingerprint(m):
    """A JSON string of the module's class and constructor arguments (tensors by dtype and shape)
    that tells whether a child built by a constructor is the one that was saved."""
    seen = set()

    def fp(v):
        if isinstance(v, Module):
            if id(v) in seen:
                return ["M", class_path(type(v))]
            seen.add(id(v))
            return ["M", class_path(type(v)), fp(_record(v))]
        if isinstance(v, Tensor) or (hasattr(v, "shape") and hasattr(v, "dtype")):
            return ["T", str(v.dtype), list(v.shape)]
        if isinstance(v, (type,) + _FUNCS):
            return ["g", f"{getattr(v, '__module__', '')}:{getattr(v, '__qualname__', '')}"]
        if isinstance(v, dict):
            return ["d", [[repr(k), fp(x)] for k, x in v.items()]]
        if isinstance(v, (list, tuple)):
            return [type(v).__name__[0], [fp(x) for x in v]]
        if v is None or isinstance(v, (bool, int, str)):
            return v
        return repr(v)  # floats (nan, inf), dtypes, devices...

    return json.dumps(fp(m))


def _plain(v):
    if v is None or isinstance(v, (bool, int, float, str)):
        return True
    if type(v) in (list, tuple):
        return all(map(_plain, v))
    return type(v) is dict and all(isinstance(k, str) and _plain(x) for k, x in v.items())


class Encoder:
    """Adds modules to the checkpoint's table; `plan` is serialization's `_Plan`."""

    def __init__(self, plan):
        self.plan, self.ids, self.entries = plan, {}, []

    def module(self, m, path):
        if id(m) in self.ids:
            return ["m", self.ids[id(m)]]
        where = ".".join(map(str, path)) or "the model"
        cls, rec = type(m), _record(m)
        if rec is None:
            raise TypeError(f"save: {where} ({cls.__name__}) was not built by calling its class, "
                            "so its constructor arguments are unknown; save its state_dict()")
        self.ids[id(m)] = idx = len(self.entries)
        self.entries.append(None)
        entry = {"class": self.global_path(cls, where), "key": fingerprint(m)}
        try:
            entry["args"] = self.arg(list(rec[0]), path + ("__init__",))
            entry["kwargs"] = self.arg(dict(rec[1]), path + ("__init__",))
        except TypeError as e:
            raise TypeError(f"save: a constructor argument of {where} ({cls.__name__}) cannot be "
                            f"stored: {e}") from None
        entry["children"] = [[k, None if c is None else self.module(c, path + (k,))[1]]
                             for k, c in m._modules.items()]
        entry["params"] = [[k, None if p is None else self.plan.node(p, path + (k,))]
                           for k, p in m._parameters.items()]
        entry["buffers"] = [[k, None if b is None else self.plan.node(b, path + (k,)),
                             k not in m._non_persistent_buffers_set] for k, b in m._buffers.items()]
        entry["training"] = bool(m.training)
        entry["attrs"] = [[k, self.plan.node(v, path + (k,))] for k, v in m.__dict__.items()
                          if k not in _REGISTRIES and _plain(v)]
        self.entries[idx] = entry
        return ["m", idx]

    @staticmethod
    def global_path(obj, where):
        path = class_path(obj)
        if "<locals>" in path or "<lambda>" in path or obj.__module__ is None:
            raise TypeError(f"save: {where} needs {path.replace(':', '.')}, which is defined inside "
                            "a function (or is a lambda), so load could not import it")
        return path

    def arg(self, v, path):
        if isinstance(v, Module):
            return self.module(v, path)
        if isinstance(v, Parameter):
            return ["P", self.plan.node(v, path)]
        if isinstance(v, _dt.dtype):
            return ["D", v.name]
        if isinstance(v, backend.Device):
            return ["V", str(v)]
        if isinstance(v, (type,) + _FUNCS):
            return ["g", self.global_path(v, ".".join(map(str, path)))]
        if isinstance(v, dict):
            items = [[self.plan.key(k, path), self.arg(x, path + (k,))] for k, x in v.items()]
            return ["o" if isinstance(v, OrderedDict) else "d", items]
        if isinstance(v, (list, tuple)):
            return ["t" if isinstance(v, tuple) else "l",
                    [self.arg(x, path + (i,)) for i, x in enumerate(v)]]
        return self.plan.node(v, path)


class Decoder:
    """Rebuilds modules from the table; `builder` is serialization's `_Builder` (its `r.fail`
    raises CheckpointError naming the file)."""

    def __init__(self, builder, entries, weights_only):
        self.b, self.fail, self.weights_only = builder, builder.r.fail, weights_only
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            self.fail("the module table is not a list of objects")
        self.entries, self.made, self.owner, self.building = entries, {}, {}, set()
        self.params, self.claimed = {}, set()  # stored tensor id -> Parameter; ids of those
        keys = {"class", "key", "args", "kwargs", "children", "params", "buffers", "training",
                "attrs"}
        for e in entries:
            if set(e) != keys:
                self.fail(f"a module entry has the fields {sorted(e)}, expected {sorted(keys)}")
        # every class is resolved (and refused if not allowed) before any constructor runs
        self.classes = [self.resolve(e["class"], module=True) for e in entries]

    def resolve(self, path, module=False):
        if not isinstance(path, str) or path.count(":") != 1:
            self.fail(f"bad class path {str(path)[:80]!r}")
        mod, qual = path.split(":")
        dotted = f"{mod}.{qual}"
        for e in get_safe_globals():
            obj, name = e if isinstance(e, tuple) else (e, f"{e.__module__}.{e.__qualname__}")
            if name == dotted:
                return obj
        if mod.split(".")[0] != "axonal" and self.weights_only is not False:
            self.fail(f"it asks for {dotted}, which is neither axonal's nor allowed; if you trust "
                      f"the file, allow the class with axonal.serialization.safe_globals"
                      f"([{qual.split('.')[-1]}]) (or add_safe_globals), or pass weights_only=False")
        try:
            obj = importlib.import_module(mod)
            for part in qual.split("."):
                obj = getattr(obj, part)
        except (ImportError, AttributeError) as e:
            self.fail(f"cannot import {dotted} ({e})")
        if getattr(obj, "__module__", None) != mod or getattr(obj, "__qualname__", None) != qual:
            self.fail(f"{dotted} is not defined where the file says")
        if module and not (isinstance(obj, type) and issubclass(obj, Module)):
            self.fail(f"{dotted} is not a Module class")
        if not module and not isinstance(obj, (type,) + _FUNCS):
            self.fail(f"{dotted} is not a class or function")
        return obj

    def module(self, idx):
        if type(idx) is not int or not 0 <= idx < len(self.entries):
            self.fail(f"module reference {str(idx)[:40]} is not in the module table")
        if idx in self.made:
            return self.made[idx]
        if idx in self.building:
            self.fail("a module's constructor arguments refer to the module itself (a cycle)")
        self.building.add(idx)
        e, cls = self.entries[idx], self.classes[idx]
        args, kwargs = self.arg(e["args"]), self.arg(e["kwargs"])
        if not isinstance(args, list) or not isinstance(kwargs, dict):
            self.fail(f"the constructor arguments of {cls.__name__} are malformed")
        try:
            m = cls(*args, **kwargs)
        except Exception as err:  # a constructor's own error, reported with the class
            self.fail(f"rebuilding {cls.__qualname__} raised {type(err).__name__}: {err}")
        self.building.discard(idx)
        self.adopt(m, idx)
        return m

    def adopt(self, m, idx):
        self.made[idx], self.owner[id(m)] = m, idx
        e = self.entries[idx]
        children = OrderedDict()
        for name, cid in self.pairs(e["children"], 2):
            have = m._modules.get(name)
            if cid is not None and type(cid) is not int:
                self.fail(f"child {name!r} refers to {str(cid)[:40]}, not a module number")
            if cid is None or cid in self.made:
                children[name] = None if cid is None else self.made[cid]
            elif (isinstance(have, Module) and id(have) not in self.owner
                  and 0 <= cid < len(self.entries)
                  and class_path(type(have)) == self.entries[cid]["class"]
                  and fingerprint(have) == self.entries[cid]["key"]):
                self.touch(["m", cid], set(), args_only=True)  # its arguments are not needed
                self.adopt(have, cid)
                children[name] = have
            else:
                children[name] = self.module(cid)
        m._modules.clear()
        m._modules.update(children)
        params = OrderedDict()
        for name, node in self.pairs(e["params"], 2):
            params[name] = None if node is None else self.param(node, m._parameters.get(name))
        m._parameters.clear()
        m._parameters.update(params)
        m._buffers.clear()
        m._non_persistent_buffers_set.clear()
        for name, node, persistent in self.pairs(e["buffers"], 3):
            m._buffers[name] = None if node is None else self.b.build(node)
            if not persistent:
                m._non_persistent_buffers_set.add(name)
        m.__dict__["training"] = bool(e["training"])
        for name, node in self.pairs(e["attrs"], 2):
            value, have = self.b.build(node), m.__dict__.get(name, self)
            try:
                same = type(have) is type(value) and bool(have == value)
            except Exception:
                same = False
            if not same:
                m.__dict__[name] = value

    def touch(self, node, seen, args_only=False):
        """Load the tensors under `node` without constructing anything: the arguments of a
        constructor whose child was kept were stored, and every stored tensor must be used."""
        if not isinstance(node, list) or not node:
            return
        if node[0] in ("T", "A", "G") and len(node) > 1 and isinstance(node[1], str):
            self.b.build(node)
        elif node[0] == "m" and len(node) == 2 and type(node[1]) is int:
            if node[1] in seen or node[1] in self.made or not 0 <= node[1] < len(self.entries):
                return
            seen.add(node[1])
            e = self.entries[node[1]]
            fields = ("args", "kwargs") if args_only else ("args", "kwargs", "params", "buffers",
                                                            "attrs")
            for f in fields:
                self.touch(e[f], seen)
            for item in ([] if args_only else e["children"]):
                if isinstance(item, list) and len(item) == 2 and type(item[1]) is int:
                    self.touch(["m", item[1]], seen)
        else:
            for x in node:
                self.touch(x, seen)

    def pairs(self, items, n):
        if not isinstance(items, list) or not all(
                isinstance(i, list) and len(i) == n and isinstance(i[0], str) for i in items):
            self.fail(f"malformed module entry field {str(items)[:80]}")
        return items

    def param(self, node, have):
        t = self.b.build(node)
        if not isinstance(t, Tensor):
            self.fail("a parameter entry is not a tensor")
        if id(t) in self.params:  # one stored tensor, two owners: one Parameter (a tie)
            return self.params[id(t)]
        if (isinstance(have, Parameter) and id(have) not in self.claimed and have.shape == t.shape
                and have.dtype == t.dtype):
            have._data = t._data  # keep the constructor's Parameter object (others may hold it)
            have.requires_grad_(t.requires_grad)
            p = have
        else:
            p = Parameter(t, requires_grad=t.requires_grad)
        self.params[id(t)] = p
        self.claimed.add(id(p))
        return p

    def arg(self, node):
        tag = node[0] if isinstance(node, list) and node and isinstance(node[0], str) else None
        if tag not in ("m", "P", "D", "V", "g", "o", "d", "l", "t"):
            return self.b.build(node)
        if len(node) != 2:
            self.fail(f"malformed argument node {str(node)[:80]}")
        val = node[1]
        if tag == "m":
            return self.module(val)
        if tag == "P":
            t = self.b.build(val)
            return Parameter(t, requires_grad=t.requires_grad)
        if tag == "D":
            if val not in _dt._BY_NAME:
                self.fail(f"unknown dtype {str(val)[:40]!r}")
            return _dt._BY_NAME[val]
        if tag == "V":
            try:
                return backend.Device(val)
            except (ValueError, TypeError) as e:
                self.fail(f"bad device {str(val)[:40]!r} ({e})")
        if tag == "g":
            return self.resolve(val)
        if not isinstance(val, list):
            self.fail(f"malformed argument node {str(node)[:80]}")
        if tag in ("l", "t"):
            items = [self.arg(v) for v in val]
            return tuple(items) if tag == "t" else items
        out = OrderedDict() if tag == "o" else {}
        for item in val:
            if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], list)
                    and item[0][:1] in (["s"], ["i"])):
                self.fail(f"malformed dict item {str(item)[:80]}")
            out[self.b.build(item[0])] = self.arg(item[1])
        return out
