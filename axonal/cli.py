"""The `axonal` command line (also `python -m axonal`).

Layer 9.

    axonal train NAME [--epochs N] [--lr LR] [--batch-size B] [--seed S] [--resume CKPT]
                      [--out DIR] [--overwrite] [--data DIR] [--limit-train N] [--device DEV]
                      [--quiet] [--nproc N]
    axonal train NAME --help   (the recipe's options and defaults)
    axonal train --list
    axonal evaluate CHECKPOINT [--data DIR] [--batch-size B] [--device DEV] [--json]
    axonal generate CHECKPOINT [--prompt TEXT] [--temperature T] [--length N] [--seed S]
    axonal info
    axonal playground [--host 127.0.0.1] [--port N] [--open]

Exit status: 0 on success, 2 for bad arguments (argparse), 1 for an error while running (unknown
recipe, missing checkpoint, unreadable data), 130 when interrupted. Errors print one line,
`axonal: error: ...`, without a traceback; set AXONAL_DEBUG=1 to get the traceback as well.
AXONAL_SMOKE=1 makes `train` and `evaluate` quick checks (see axonal.recipes.runner).
"""
import argparse
import json
import os
import platform
import shlex
import sys
from importlib import metadata

from . import _threads
from .recipes.registry import UnknownRecipeError


def _int_at_least(low):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be >= {low}, got {value}")
        return value
    return parse


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive finite number, got {text}")
    return value


def build_parser():
    parser = argparse.ArgumentParser(prog="axonal", description="Axonal: train and evaluate models.")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    t = sub.add_parser("train", help="train a recipe (see --list)",
                       description="Train a named recipe; writes OUT/checkpoint, OUT/metrics.json, "
                                   "OUT/curves.png and OUT/log.csv.")
    t.add_argument("name", nargs="?", help="recipe name, e.g. mnist-mlp (NAME --help: its "
                   "options and defaults)")
    t.add_argument("--list", action="store_true", help="list the recipes and exit")
    t.add_argument("--epochs", type=_int_at_least(1), help="total epochs (a resumed run continues "
                   "up to this number; a larger one re-plans the LR schedule)")
    t.add_argument("--lr", type=_positive_float, help="learning rate")
    t.add_argument("--batch-size", type=_int_at_least(1), help="training batch size")
    t.add_argument("--seed", type=_int_at_least(0), help="random seed (init, shuffling, dropout)")
    t.add_argument("--resume", metavar="CKPT", help="continue from a checkpoint written by a "
                   "previous run (--out defaults to its folder)")
    t.add_argument("--out", metavar="DIR", help="output directory (default runs/NAME)")
    t.add_argument("--overwrite", action="store_true", help="replace a checkpoint already in "
                   "--out (without it, such a run is refused so that no run is lost)")
    t.add_argument("--data", metavar="DIR", help="dataset directory (default $AXONAL_DATA, else "
                   "~/.cache/axonal; MNIST is also shipped with axonal)")
    t.add_argument("--limit-train", type=_int_at_least(1), metavar="N",
                   help="use only the first N training samples (smoke runs)")
    t.add_argument("--device", help="cpu (default) or cuda")
    t.add_argument("--quiet", action="store_true", help="no progress output, only the summary")
    t.add_argument("--nproc", type=_int_at_least(1), metavar="N", help="data-parallel training in "
                   "N processes (runs itself under mpiexec -n N; needs pip install mpi4py mpich)")
    t.add_argument("--cell", help="recurrent cell, for recipes that take one (row-mnist: lstm, "
                   "gru, irnn)")
    t.add_argument("--dataset", help="dataset, for recipes that take one (resnet: fashion-mnist, "
                   "mnist)")

    e = sub.add_parser("evaluate", help="evaluate a checkpoint on its recipe's test set",
                       description="Rebuild the model from the recipe and config stored in the "
                                   "checkpoint, and evaluate it on the recipe's test set.")
    e.add_argument("checkpoint", help="a checkpoint file written by `axonal train`")
    e.add_argument("--data", metavar="DIR", help="dataset directory")
    e.add_argument("--batch-size", type=_int_at_least(1), help="evaluation batch size")
    e.add_argument("--device", help="cpu (default) or cuda")
    e.add_argument("--json", action="store_true", help="print the metrics as JSON")

    g = sub.add_parser("generate", help="sample text from a language-model checkpoint",
                       description="Sample text from a checkpoint written by a language-model "
                                   "recipe (char-lstm).")
    g.add_argument("checkpoint", help="a checkpoint file written by `axonal train`")
    g.add_argument("--prompt", default="\n", help="text to start from (default: a newline)")
    g.add_argument("--temperature", type=_positive_float, default=1.0,
                   help="softmax temperature: < 1 more conservative, > 1 more random")
    g.add_argument("--length", type=_int_at_least(1), default=500, help="characters to generate")
    g.add_argument("--seed", type=_int_at_least(0), help="random seed of the sampler")
    g.add_argument("--data", metavar="DIR", help="dataset directory (for the vocabulary)")

    sub.add_parser("info", help="versions, BLAS, threads, GPU and datasets",
                   description="Show the installation: versions, BLAS, threads, GPU, datasets.")
    pg = sub.add_parser("playground", help="the interactive Playground in your browser",
                        description="Serve the Axonal Playground (build a small network, watch it "
                                    "learn); needs pip install 'axonal[playground]'.")
    pg.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1, "
                    "this machine only)")
    pg.add_argument("--port", type=_int_at_least(0), default=8000, help="port (default 8000)")
    pg.add_argument("--open", action="store_true", help="open the page in a web browser")
    parser.train_parser = t  # for errors that argparse cannot express (NAME required unless --list)
    return parser


def _cmd_train(args):
    from .recipes import list_recipes, train

    if args.list:
        rows = list_recipes()
        width = max((len(n) for n, _ in rows), default=0)
        for name, desc in rows:
            print(f"{name:<{width}}  {desc}")
        return 0
    train(args.name, epochs=args.epochs, lr=args.lr, batch_size=args.batch_size, seed=args.seed,
          resume=args.resume, out=args.out, data=args.data, quiet=args.quiet,
          limit_train=args.limit_train, device=args.device, overwrite=args.overwrite,
          options={k: v for k, v in (("cell", args.cell), ("dataset", args.dataset)) if v}
          or None)
    return 0


def recipe_help(name):
    """`axonal train NAME --help`: the generic options plus the recipe's description, defaults and
    options (--cell, --dataset, ...)."""
    from .recipes import get_recipe

    rec = get_recipe(name)
    lines = [f"recipe {name}: {rec.description}", "defaults:"]
    for key, value in rec.defaults.items():
        lines.append(f"  --{key.replace('_', '-'):<12} {value}")
    opts = getattr(rec, "options", None) or {}
    if opts:
        lines.append("recipe options (--cell/--dataset on the command line; all of them in "
                     "Python: train(NAME, options={...})):")
        for key, value in opts.items():
            lines.append(f"  {key:<14} {value}")
    doc = (sys.modules[type(rec).__module__].__doc__ or "").strip()
    if doc:
        body = doc.split("\n\n", 1)[-1] if doc.startswith(name) else doc
        lines += ["", body.replace("Layer 9. ", "", 1)]
    return "\n".join(lines)


def _cmd_generate(args):
    from .recipes import get_recipe
    from .train import read_checkpoint

    name = (read_checkpoint(args.checkpoint).get("extra") or {}).get("recipe")
    rec = get_recipe(name) if name else None
    if rec is None or not hasattr(rec, "generate"):
        raise ValueError(f"{args.checkpoint} was not written by a language-model recipe "
                         f"(recipe: {name!r}); generate works with char-lstm checkpoints")
    print(rec.generate(args.checkpoint, args.prompt, length=args.length,
                       temperature=args.temperature, seed=args.seed, data=args.data))
    return 0


def _cmd_evaluate(args):
    from .recipes import evaluate

    result = evaluate(args.checkpoint, data=args.data, batch_size=args.batch_size,
                      device=args.device, verbose=0 if args.json else "auto")
    if args.json:
        print(json.dumps(result, sort_keys=True))
    else:
        print(f"{args.checkpoint}: recipe {result['recipe']}, {result['epochs']} epochs, "
              f"{result['test_samples']} test samples")
        for key in sorted(k for k in result if k.startswith("test_") and k != "test_samples"):
            print(f"  {key:<16} {result[key]:.4f}")
    return 0


# -- axonal info -----------------------------------------------------------------------------------
def _version(dist):
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _blas_lines():
    import numpy as np

    try:
        cfg = np.show_config(mode="dicts")
        blas = cfg["Build Dependencies"]["blas"]
        text = f"{blas.get('name')} {blas.get('version', '')}".strip()
        conf = blas.get("openblas configuration")
        lines = [f"NumPy's BLAS    {text}" + (f" ({conf})" if conf else "")]
    except Exception as e:  # noqa: BLE001 - show_config's layout differs across NumPy versions
        lines = [f"NumPy's BLAS    unknown ({type(e).__name__})"]
    from .kernels import BLAS
    hint = "" if (BLAS or "").startswith("mkl") else "  (faster: pip install -e '.[mkl]')"
    lines.append(f"Axonal's GEMMs  {BLAS or 'numpy.matmul'}{hint}")
    try:
        from threadpoolctl import threadpool_info
        for pool in threadpool_info():
            lines.append(f"  thread pool   {pool.get('internal_api')} {pool.get('version')}: "
                         f"{pool.get('num_threads')} threads")
    except ImportError:
        pass
    return lines


def _thread_lines():
    import axonal

    lines = [f"CPU cores       {os.cpu_count()}"]
    if getattr(axonal, "_threads", None) is not None:  # the thread policy module may be absent
        lines.append(f"axonal threads  {axonal.get_num_threads()}")
    try:
        import numba
        lines.append(f"numba threads   {numba.get_num_threads()} (layer: {numba.threading_layer()})")
    except ValueError:  # threading_layer() before any parallel kernel ran
        lines.append(f"numba threads   {numba.get_num_threads()}")
    except ImportError:
        pass
    env = {k: os.environ[k] for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                                      "NUMBA_NUM_THREADS") if k in os.environ}
    if env:
        lines.append("thread env      " + " ".join(f"{k}={v}" for k, v in env.items()))
    return lines


def _gpu_lines():
    from . import backend

    if backend._cupy is None:
        return ["GPU             CuPy not installed (CPU only); pip install cupy-cuda12x (or -cuda13x)"]
    cp = backend._cupy
    if not backend.cuda_available():
        return [f"GPU             CuPy {cp.__version__}, but no CUDA device is visible"]
    lines = [f"GPU             CuPy {cp.__version__}"]
    for i in range(cp.cuda.runtime.getDeviceCount()):
        props = cp.cuda.runtime.getDeviceProperties(i)
        name = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
        lines.append(f"  cuda:{i}        {name}, {props['totalGlobalMem'] / 2**30:.1f} GiB")
    return lines


def _dataset_lines():
    from .datasets import _download, banknote, mnist, shakespeare

    root = _download.data_dir()
    lines = [f"data dir        {root}" + (f" (from ${_download.ENV_VAR})"
                                          if os.environ.get(_download.ENV_VAR) else "")]
    sets = [("MNIST", list(mnist.MNIST_RESOURCES.values())),
            ("FashionMNIST", list(mnist.FASHION_MNIST_RESOURCES.values())),
            ("Banknote", [banknote.RESOURCE]), ("TinyShakespeare", [shakespeare.RESOURCE])]
    for name, resources in sets:
        where = set()
        for res in resources:  # existence only: hashing 60 MB for a status line is not worth it
            if (root / res.folder / res.filename).is_file():
                where.add("data dir")
            elif res.packaged and (_download.PACKAGED_DIR / res.folder / res.filename).is_file():
                where.add("packaged")
            else:
                where.add("missing")
        state = ("missing (downloaded on first use)" if where == {"missing"} else
                 "partly missing" if "missing" in where else "present (" + ", ".join(sorted(where)) + ")")
        lines.append(f"  {name:<16}{state}")
    return lines


def info_lines():
    import axonal

    lines = [f"axonal          {axonal.__version__} ({os.path.dirname(axonal.__file__)})",
             f"python          {platform.python_version()} ({platform.platform()})"]
    for dist in ("numpy", "numba", "tqdm", "matplotlib"):
        lines.append(f"{dist:<16}{_version(dist)}")
    return lines + _blas_lines() + _thread_lines() + _gpu_lines() + _dataset_lines()


def _resume_hint(args, argv):
    """The full command that continues an interrupted run: the same arguments, with --resume
    pointing at the run's checkpoint, --out at its folder, and no --overwrite."""
    if args.out is not None:
        out = args.out
    elif args.resume:
        out = os.path.dirname(args.resume) or "."
    else:
        out = os.path.join("runs", args.name)
    ckpt = os.path.join(out, "checkpoint")
    if not os.path.isfile(ckpt):  # written after each completed epoch
        return ""
    kept, skip = [], False
    for i, arg in enumerate(argv):
        if skip:
            skip = False
        elif arg in ("--resume", "--out"):
            skip = True
        elif arg == "--overwrite" or arg.startswith(("--resume=", "--out=")):
            continue
        else:
            kept.append(arg)
    return "; continue with: axonal " + shlex.join([*kept, "--resume", ckpt, "--out", out])


def main(argv=None) -> int:
    _threads.configure()  # the CLI opts in to the thread policy (AXONAL_THREADS=auto does it earlier)
    parser = build_parser()
    raw = sys.argv[1:] if argv is None else list(argv)
    if len(raw) >= 3 and raw[0] == "train" and not raw[1].startswith("-") and (
            "-h" in raw[2:] or "--help" in raw[2:]):
        try:  # `axonal train NAME --help`: the recipe's own defaults and options
            text = recipe_help(raw[1])
        except KeyError as e:  # UnknownRecipeError
            print(f"axonal: error: {e}", file=sys.stderr)
            return 1
        parser.train_parser.print_help()
        print("\n" + text)
        return 0
    args = parser.parse_args(argv)
    if args.version:
        from . import __version__
        print(f"axonal {__version__}")
        return 0
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        if args.command == "train":
            if not args.list and not args.name:
                parser.train_parser.error("a recipe NAME is required (or --list to see them)")
            from .distributed import launch
            if args.nproc and args.nproc > 1 and not args.list and not launch.under_mpiexec():
                return launch.relaunch_cli(args.nproc, sys.argv[1:] if argv is None else argv)
            if launch.under_mpiexec():  # one rank of a --nproc (or mpiexec) run
                with launch.abort_on_error(brief=(OSError, ValueError, UnknownRecipeError,
                                                  ImportError, RuntimeError)):
                    launch.init_from_launcher()
                    return _cmd_train(args)
            return _cmd_train(args)
        if args.command == "evaluate":
            return _cmd_evaluate(args)
        if args.command == "generate":
            return _cmd_generate(args)
        if args.command == "playground":
            from .playground import serve
            serve(host=args.host, port=args.port, open_browser=args.open)
            return 0
        print("\n".join(info_lines()))
        return 0
    except KeyboardInterrupt:
        hint = ""
        if args.command == "train" and args.name:
            hint = _resume_hint(args, sys.argv[1:] if argv is None else argv)
        print(f"axonal: interrupted{hint}", file=sys.stderr)
        return 130
    except (OSError, ValueError, UnknownRecipeError, ImportError, RuntimeError) as e:
        # the errors a user can cause (paths, arguments, data, a missing package); anything else is
        # a bug and keeps its traceback
        if os.environ.get("AXONAL_DEBUG"):
            raise
        print(f"axonal: error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
