"""The study's data files: fetched once, checked against their md5, written atomically.

    python -m vae_utils.core.fetch        # `make data`: every file of MNIST, Fashion-MNIST and Frey Face

Files go under the data folder (`paths.data_dir()`: $VAE_DATA_DIR, else `data/` in the repository)
in torchvision's layout. A folder named by $VAE_DATA_DIR is only checked, never written: a file
missing there is an error naming it and where it comes from. A download goes to a temporary file
beside its target and is renamed into place only once its md5 matches, so a notebook never reads
half a file, and an interrupted `make data` leaves nothing that looks finished.
"""
import hashlib
import os
import sys
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from ..config.paths import data_dir

FREY_URL = "https://cs.nyu.edu/~roweis/data/frey_rawface.mat"
FREY_FILE = "frey_rawface.mat"
FREY_MD5 = "5aeb024d42b8a6091f30e5eb18c8a48d"
TIMEOUT = 60            # seconds without an answer before a mirror counts as unreachable
TERMS = {               # who publishes each dataset, under which terms (the README's data section too)
    "mnist": "Y. LeCun, C. Cortes and C. J. C. Burges; CC BY-SA 3.0",
    "fashion_mnist": "Zalando Research; MIT License",
    "frey_face": "Brendan Frey, published on Sam Roweis' data page; free for research use, no licence stated",
}


class DataError(RuntimeError):
    """Data files are missing, cannot be fetched, or are corrupted."""


@dataclass(frozen=True)
class DataFile:
    dataset: str
    path: str            # relative to the data folder
    md5: str
    urls: tuple          # mirrors, tried in order


def torchvision_files(name):
    """The archives of torchvision's dataset class for `name` ('mnist', 'fashion_mnist'), with its mirrors."""
    from torchvision import datasets  # imported here: torch loads only for these two datasets

    cls = {"mnist": datasets.MNIST, "fashion_mnist": datasets.FashionMNIST}[name]
    return [DataFile(name, f"{cls.__name__}/raw/{filename}", md5, tuple(m + filename for m in cls.mirrors))
            for filename, md5 in cls.resources]


def data_files(datasets=("mnist", "fashion_mnist", "frey_face")):
    """Every file the named datasets need (binarized_mnist is MNIST's files)."""
    files = []
    for name in datasets:
        if name == "frey_face":
            files.append(DataFile(name, f"FreyFace/{FREY_FILE}", FREY_MD5, (FREY_URL,)))
        else:
            files += torchvision_files("mnist" if name == "binarized_mnist" else name)
    return files


def md5_of(path):
    digest = hashlib.md5()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check(path, file):
    """DataError unless `path` holds `file`'s bytes (its md5)."""
    found = md5_of(path)
    if found != file.md5:
        raise DataError(f"{path} is corrupted: its md5 is {found}, expected {file.md5} (the file at {file.urls[0]}); "
                        f"delete it and run `make data` again")


def download(file, target):
    """Fetch `file` into `target` through a temporary file renamed into place once its md5 matches;
    DataError naming the file, every URL tried and why each failed."""
    target.parent.mkdir(parents=True, exist_ok=True)
    failures = []
    for url in file.urls:
        fd, part = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=TIMEOUT) as response:
                for block in iter(lambda: response.read(1 << 20), b""):
                    out.write(block)
            if md5_of(part) != file.md5:
                failures.append(f"{url}: the bytes received have the wrong md5")
                continue
            os.replace(part, target)
            return target
        except OSError as err:          # urllib's URLError and socket timeouts are OSErrors
            failures.append(f"{url}: {getattr(err, 'reason', err)}")
        finally:
            Path(part).unlink(missing_ok=True)
    raise DataError(f"could not download {target} ({file.dataset}) from {' or '.join(file.urls)}: "
                    f"{'; '.join(failures)}. Offline? Copy the file there by hand (md5 {file.md5}), or point "
                    f"VAE_DATA_DIR at a folder that holds {file.path}")


def ensure(file, root=None, fetch_missing=True):
    """The path of `file` under `root` (default: the data folder), checked; fetched first when
    missing and `fetch_missing`, else DataError naming it and where it comes from."""
    path = Path(root or data_dir()) / file.path
    if path.exists():
        check(path, file)
        return path
    if not fetch_missing:
        raise DataError(f"{path} is missing ({file.dataset}); VAE_DATA_DIR is only read, never written: put the "
                        f"file there (from {file.urls[0]}, md5 {file.md5}), or unset VAE_DATA_DIR and run "
                        f"`make data` to download it into data/")
    return download(file, path)


def fetch(datasets=("mnist", "fashion_mnist", "frey_face")):
    """Check every file of `datasets` in the data folder, downloading what is missing (never into a
    folder named by $VAE_DATA_DIR); a list of (file, path) done, or DataError at the first failure."""
    fetch_missing = not os.environ.get("VAE_DATA_DIR")
    return [(f, ensure(f, fetch_missing=fetch_missing)) for f in data_files(datasets)]


def main():
    try:
        done = fetch()
    except DataError as err:
        sys.exit(f"make data: {err}")
    for name in dict.fromkeys(f.dataset for f, _ in done):
        print(f"{name}: {sum(f.dataset == name for f, _ in done)} file(s) in {data_dir()}, md5 checked "
              f"({TERMS[name]})")


if __name__ == "__main__":
    main()
