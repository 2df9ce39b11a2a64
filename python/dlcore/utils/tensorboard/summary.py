"""Builders of TensorBoard ``Summary`` protos (tensorboard.compat.proto) from dlcore tensors, numpy
arrays and Python numbers: scalars, histograms, images, text and the hparams plugin's three records.

SummaryWriter turns each into an event; keeping the proto-building here, free of any file I/O,
lets the tests check a summary's contents without writing one.
"""
from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np
from google.protobuf import struct_pb2
from tensorboard.compat.proto.summary_pb2 import HistogramProto, Summary, SummaryMetadata
from tensorboard.plugins.hparams import api_pb2, plugin_data_pb2
from tensorboard.plugins.hparams import metadata as hparams_metadata
from tensorboard.plugins.scalar import metadata as scalar_metadata
from tensorboard.plugins.text import metadata as text_metadata
from tensorboard.util import tensor_util

from .png import encode_png


def to_numpy(value: Any, what: str) -> np.ndarray:
    """A dlcore tensor (any device; detached), numpy array, number or nested list as a numpy array."""
    try:
        return np.asarray(value)  # dlcore tensors convert through __array__ (copied to the host, detached)
    except (TypeError, ValueError, RuntimeError) as error:
        raise TypeError(f"{what}: expected a dlcore tensor, numpy array or number, got "
                        f"{type(value).__name__} ({error})") from None


def to_float(value: Any, what: str) -> float:
    """One number from a Python number, a 0-d/1-element tensor or array."""
    array = to_numpy(value, what)
    if array.size != 1:
        raise ValueError(f"{what}: expected a single number, got an array of shape {tuple(array.shape)}")
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
        raise TypeError(f"{what}: expected a number, got {array.dtype} data")
    return float(array.reshape(()))


def scalar(tag: str, value: Any, new_style: bool = False, double_precision: bool = False) -> Summary:
    """``simple_value`` (the classic form), or with ``new_style`` a 0-d tensor tagged for the scalars plugin."""
    number = to_float(value, f"add_scalar({tag!r})")
    if not new_style:
        return Summary(value=[Summary.Value(tag=tag, simple_value=number)])
    dtype = np.float64 if double_precision else np.float32
    tensor = tensor_util.make_tensor_proto(np.asarray(number, dtype=dtype))
    return Summary(value=[Summary.Value(tag=tag, tensor=tensor, metadata=scalar_metadata.create_summary_metadata(
        display_name=tag, description=""))])


def tensorflow_bucket_edges() -> np.ndarray:
    """TensorFlow's default histogram edges: +-1e-12 growing by 10% up to 1e20, and 0."""
    positive = 1e-12 * 1.1 ** np.arange(int(math.ceil(math.log(1e32) / math.log(1.1))))
    positive = positive[positive < 1e20]
    return np.concatenate([-positive[::-1], [0.0], positive])


def histogram(tag: str, values: Any, bins: str | int | Sequence[float] = "tensorflow",
              max_bins: int | None = None) -> Summary:
    """A HistogramProto over the finite values. ``bins``: "tensorflow" (TF's exponential edges), an
    int or any numpy ``bins`` string ("auto", "fd", ...) or explicit edges. Empty buckets at both
    ends are dropped; ``max_bins`` merges neighbouring buckets until at most that many remain."""
    what = f"add_histogram({tag!r})"
    array = to_numpy(values, what).astype(np.float64).reshape(-1)
    if array.size == 0:
        raise ValueError(f"{what}: the input has no element")
    finite = array[np.isfinite(array)]
    if finite.size == 0:
        raise ValueError(f"{what}: all {array.size} values are NaN or infinite")
    edges = tensorflow_bucket_edges() if isinstance(bins, str) and bins == "tensorflow" else bins
    counts, limits = np.histogram(finite, bins=edges)
    if max_bins is not None and len(counts) > max_bins:
        group = -(-len(counts) // max_bins)
        padded = np.pad(counts, (0, (-len(counts)) % group))
        counts = padded.reshape(-1, group).sum(axis=1)
        limits = np.append(limits[::group], limits[-1])[:len(counts) + 1]
    used = np.flatnonzero(counts)
    first, last = int(used[0]), int(used[-1])
    # A leading empty bucket ends where the first used one starts: a bucket's lower edge is the
    # previous bucket's limit, so without it the first bucket would reach down to -DBL_MAX.
    bucket_limits = np.concatenate([[limits[first]], limits[first + 1:last + 2]])
    buckets = np.concatenate([[0], counts[first:last + 1]])
    proto = HistogramProto(min=float(finite.min()), max=float(finite.max()), num=int(finite.size),
                           sum=float(finite.sum()), sum_squares=float(np.dot(finite, finite)),
                           bucket_limit=bucket_limits.tolist(), bucket=buckets.astype(np.float64).tolist())
    return Summary(value=[Summary.Value(tag=tag, histo=proto)])


def image_to_hwc(array: np.ndarray, dataformats: str, what: str) -> np.ndarray:
    """Reorders an image to height x width x channels; ``dataformats`` names the given axes (CHW, HWC, HW)."""
    layout = dataformats.upper()
    if sorted(layout) not in (sorted("CHW"), sorted("HW")) or len(set(layout)) != len(layout):
        raise ValueError(f"{what}: dataformats must be a permutation of 'CHW' or 'HW', got {dataformats!r}")
    if array.ndim != len(layout):
        raise ValueError(f"{what}: dataformats {dataformats!r} needs a {len(layout)}-d image, "
                         f"got shape {tuple(array.shape)}")
    if "C" not in layout:
        array, layout = array[..., None], layout + "C"
    hwc = np.transpose(array, [layout.index(axis) for axis in "HWC"])
    if hwc.shape[2] not in (1, 3, 4):
        raise ValueError(f"{what}: an image needs 1, 3 or 4 channels, got {hwc.shape[2]} "
                         f"(shape {tuple(array.shape)}, dataformats {dataformats!r})")
    return hwc


def image(tag: str, img: Any, dataformats: str = "CHW") -> Summary:
    """A PNG-encoded RGB(A) image (one channel is repeated three times, as torch does); uint8 data
    is used as is, any other dtype is taken to lie in [0, 1] and scaled by 255, truncating as torch."""
    what = f"add_image({tag!r})"
    array = image_to_hwc(to_numpy(img, what), dataformats, what)
    if array.shape[2] == 1:
        array = np.repeat(array, 3, axis=2)
    if array.dtype != np.uint8:
        array = np.clip(np.nan_to_num(array.astype(np.float32)) * 255.0, 0, 255).astype(np.uint8)
    height, width, channels = array.shape
    encoded = Summary.Image(height=height, width=width, colorspace=channels, encoded_image_string=encode_png(array))
    return Summary(value=[Summary.Value(tag=tag, image=encoded)])


def text(tag: str, text_string: str) -> Summary:
    """A string tensor for the text plugin (which renders it as markdown)."""
    if not isinstance(text_string, str):
        raise TypeError(f"add_text({tag!r}): text_string must be a str, got {type(text_string).__name__}")
    tensor = tensor_util.make_tensor_proto(np.array([text_string.encode("utf-8")], dtype=object))
    metadata = text_metadata.create_summary_metadata(display_name=tag, description="")
    return Summary(value=[Summary.Value(tag=tag + "/text_summary", tensor=tensor, metadata=metadata)])


def _hparam_value(name: str, value: Any) -> tuple[struct_pb2.Value, int]:
    """A hyperparameter as a protobuf Value and its api_pb2 data type."""
    if isinstance(value, bool):
        return struct_pb2.Value(bool_value=value), api_pb2.DATA_TYPE_BOOL
    if isinstance(value, str):
        return struct_pb2.Value(string_value=value), api_pb2.DATA_TYPE_STRING
    if isinstance(value, (int, float)):
        return struct_pb2.Value(number_value=float(value)), api_pb2.DATA_TYPE_FLOAT64
    if hasattr(value, "__array__") and np.asarray(value).size == 1:
        return struct_pb2.Value(number_value=to_float(value, f"add_hparams({name!r})")), api_pb2.DATA_TYPE_FLOAT64
    raise ValueError(f"add_hparams: value of {name!r} should be one of int, float, str, bool, or a "
                     f"1-element tensor, got {type(value).__name__}")


def _hparams_summary(tag: str, plugin_data: plugin_data_pb2.HParamsPluginData) -> Summary:
    metadata: SummaryMetadata = hparams_metadata.create_summary_metadata(plugin_data)
    return Summary(value=[Summary.Value(tag=tag, metadata=metadata, tensor=hparams_metadata.NULL_TENSOR)])


def hparams(hparam_dict: Mapping[str, Any], metric_dict: Mapping[str, Any],
            hparam_domain_discrete: Mapping[str, Sequence[Any]] | None = None) -> tuple[Summary, Summary, Summary]:
    """The experiment, session-start and session-end summaries the hparams plugin reads for one run."""
    if not isinstance(hparam_dict, Mapping) or not isinstance(metric_dict, Mapping):
        raise TypeError("add_hparams: hparam_dict and metric_dict should be dictionaries, got "
                        f"{type(hparam_dict).__name__} and {type(metric_dict).__name__}")
    domains = dict(hparam_domain_discrete or {})
    for name, choices in domains.items():
        if name not in hparam_dict or not isinstance(choices, (list, tuple)):
            raise TypeError(f"add_hparams: hparam_domain_discrete[{name!r}] must be a list of the values of a "
                            "key of hparam_dict")
    start = plugin_data_pb2.SessionStartInfo()
    infos = []
    for name, value in hparam_dict.items():
        proto_value, data_type = _hparam_value(name, value)
        start.hparams[name].CopyFrom(proto_value)
        info = api_pb2.HParamInfo(name=name, type=data_type)
        if name in domains:
            info.domain_discrete.extend([_hparam_value(name, choice)[0] for choice in domains[name]])
        infos.append(info)
    experiment = api_pb2.Experiment(
        hparam_infos=infos, metric_infos=[api_pb2.MetricInfo(name=api_pb2.MetricName(tag=tag)) for tag in metric_dict])
    end = plugin_data_pb2.SessionEndInfo(status=api_pb2.STATUS_SUCCESS)
    return (_hparams_summary(hparams_metadata.EXPERIMENT_TAG, plugin_data_pb2.HParamsPluginData(experiment=experiment)),
            _hparams_summary(hparams_metadata.SESSION_START_INFO_TAG,
                             plugin_data_pb2.HParamsPluginData(session_start_info=start)),
            _hparams_summary(hparams_metadata.SESSION_END_INFO_TAG,
                             plugin_data_pb2.HParamsPluginData(session_end_info=end)))
