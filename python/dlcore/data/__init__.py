# dlcore.data: the dataset readers and epoch ordering shared by dlcore and the PyTorch baseline.
# The readers are numpy + stdlib (Pillow only to decode JPEGs) and do not use dlcore._C, so the
# baseline feeds PyTorch the very same bytes in the very same order; DataLoader builds dlcore tensors.
from . import download, sampler
from .cifar10 import CIFAR10, CIFAR10_CLASSES, user_cache_dir
from .common import data_root, normalize_images
from .folder import IMG_EXTENSIONS, DatasetFolder, ImageFolder, default_loader, pil_loader
from .loader import DataLoader
from .mnist import MNIST, read_idx_file
from .sampler import batch_indices, epoch_order, num_batches

__all__ = ["DataLoader", "MNIST", "CIFAR10", "ImageFolder", "DatasetFolder", "IMG_EXTENSIONS", "default_loader",
           "pil_loader", "CIFAR10_CLASSES", "data_root", "download", "normalize_images", "sampler",
           "epoch_order", "batch_indices", "num_batches", "read_idx_file", "user_cache_dir"]
