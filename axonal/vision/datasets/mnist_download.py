"""torchvision's download for the MNIST-format datasets that axonal does not ship: fetch each
archive (trying the mirrors in order), check its published MD5, decompress into the raw folder.

KMNIST: `resources` is a list of (file name, md5) under each of `mirrors`; each .gz is decompressed
next to itself. EMNIST: one zip (`url`, `md5`) whose gzip/ folder holds every split's .gz files;
they are decompressed into the raw folder and the gzip/ folder removed, as torchvision leaves it.
"""
import gzip
import hashlib
import os
import shutil
import urllib.request
import zipfile


def md5sum(path):
    h = hashlib.md5()  # noqa: S324 - the checksum the dataset's page publishes
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch(urls, path, md5):
    """Download the first of `urls` that answers to `path` (via a .part file) and check its MD5.
    A file already there with the right MD5 is kept."""
    if os.path.isfile(path) and md5sum(path) == md5:
        return path
    errors = []
    for url in urls:
        tmp = path + ".part"
        try:
            with urllib.request.urlopen(url, timeout=60) as r, open(tmp, "wb") as f:  # noqa: S310
                shutil.copyfileobj(r, f, 1 << 20)
        except OSError as e:
            errors.append(f"{url}: {e}")
            continue
        got = md5sum(tmp)
        if got != md5:
            os.remove(tmp)
            errors.append(f"{url}: MD5 {got} is not the published {md5} (a damaged or "
                          "different file)")
            continue
        os.replace(tmp, path)
        return path
    raise RuntimeError(f"could not download {os.path.basename(path)}:\n  " + "\n  ".join(errors))


def gunzip(src, dst):
    with gzip.open(src, "rb") as fin, open(dst, "wb") as fout:
        shutil.copyfileobj(fin, fout, 1 << 20)


def download(dataset):
    raw = dataset.raw_folder
    os.makedirs(raw, exist_ok=True)
    if hasattr(dataset, "resources"):  # one .gz per file
        for name, md5 in dataset.resources:
            path = fetch([m + name for m in dataset.mirrors], os.path.join(raw, name), md5)
            gunzip(path, path[:-3])
        return
    archive = fetch([dataset.url], os.path.join(raw, os.path.basename(dataset.url)), dataset.md5)
    folder = os.path.join(raw, "gzip")
    with zipfile.ZipFile(archive) as z:
        for member in z.namelist():
            # only the archive's gzip/*.gz files; ZipFile.extract drops absolute or ".." parts
            if member.startswith("gzip/") and member.endswith(".gz"):
                z.extract(member, raw)
    for name in sorted(os.listdir(folder)):
        gunzip(os.path.join(folder, name), os.path.join(raw, name[:-3]))
    shutil.rmtree(folder)
