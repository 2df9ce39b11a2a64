"""Results about the systems side: parallel training, NCCL against Gloo, the batch-size sweep, CPU
against GPU, and the profilers' top-10 operators."""
from __future__ import annotations

from typing import Any

from . import figures
from .document import Block, Figure, Heading, Paragraph, Preformatted, Table
from .formatting import missing, num
from .sources import Kind, Source, of_kind


def parallel(sources: list[Source]) -> list[Block]:
    blocks: list[Block] = [Heading(3, "Parallel training")]
    found = of_kind(sources, Kind.TORCH_PARALLEL)
    if not found:
        return blocks + [missing("the parallel-training comparison", "No baseline_torch parallel result was given.")]
    for s in found:
        rows, groups = [], {}
        for r in s.data["summary"]:
            if r["status"] != "ok":
                rows.append([r["model"], r["mode"], f"not measured: {r.get('placement', r['status'])}"] + ["-"] * 4)
                continue
            where = ("simulated: " if r["simulated"] and "simulated" not in r["placement"] else "") + r["placement"]
            rows.append([r["model"], r["mode"], where, num(r["seconds_per_epoch"], 3), num(r["images_per_second"], 0),
                         num(r["final_test_accuracy"]), num(r["speedup_vs_single"])])
            groups.setdefault(r["model"], []).append((r["mode"], r["seconds_per_epoch"], r["simulated"]))
        blocks += [Paragraph(f"{s.label}: {s.data.get('framework')}, GPUs found: {len(s.data.get('gpus', []))}, "
                             f"world size {s.data.get('world_size')}, global batch {s.data.get('global_batch_size')}, "
                             f"{s.data.get('limit')} training images per epoch."),
                   Table(["model", "mode", "placement", "s/epoch", "img/s", "final test acc %", "speed-up vs single"], rows),
                   Figure("parallel.png", figures.bars_by_group(groups, "seconds per epoch", "parallel training modes"),
                          "Parallel training: seconds per epoch by mode (hatched: simulated on one device)")]
        checks = s.data.get("equivalence_checks", [])
        if checks:
            blocks.append(Table(["equivalence check", "model", "relative parameter difference", "equivalent"],
                                [[c["method"], c["model"], f"{c['relative_diff']:.2e}", str(c["equivalent"])]
                                 for c in checks]))
    return blocks


def backends(sources: list[Source]) -> list[Block]:
    blocks: list[Block] = [Heading(3, "NCCL against Gloo")]
    found = of_kind(sources, Kind.TORCH_BACKENDS)
    if not found:
        return blocks + [missing("the NCCL/Gloo comparison", "No baseline_torch backends result was given.")]
    for s in found:
        measured = {name: b["rows"] for name, b in s.data["allreduce"].items() if b.get("status") == "ok"}
        rows = [[r["backend"], r["placement"], num(r.get("small_msg_latency_us"), 0), num(r.get("peak_busbw_GBps"), 3),
                 num(r.get("at_bytes")), num(r.get("ddp_seconds_per_epoch"), 3), num(r.get("ddp_test_accuracy"))]
                for r in s.data["summary"] if r["status"] == "ok"]
        blocks += [Paragraph(f"{s.label}: {s.data.get('framework')}, world size {s.data.get('world_size')}, "
                             f"DDP model {s.data.get('ddp_model')} on {s.data.get('limit')} images."),
                   Table(["backend", "placement", "smallest-message latency us", "peak bus bandwidth GB/s",
                          "at bytes", "DDP s/epoch", "DDP test acc %"], rows)]
        if measured:
            blocks.append(Figure("allreduce.png", figures.allreduce_bandwidth(measured),
                                 "All-reduce bus bandwidth and time per call against message size"))
        for r in s.data["summary"]:
            if r["status"] != "ok":
                blocks.append(missing(r["backend"], f"Not measured: {r.get('placement', r['status'])}."))
    return blocks


def _torch_sweep_rows(sources: list[Source]) -> list[dict[str, Any]]:
    return [row for s in of_kind(sources, Kind.TORCH_PROFILE) for row in s.data.get("batch_size_sweep", [])]


def batch_size_sweep(sources: list[Source]) -> list[Block]:
    blocks: list[Block] = [Heading(3, "Batch-size sweep")]
    sweeps, torch_rows = of_kind(sources, Kind.SWEEP), _torch_sweep_rows(sources)
    lines, accuracy = [], []
    for s in sweeps:
        c = s.data["config"]
        blocks += [Paragraph(f"{s.label}: dlcore, {c['model']} on {c['dataset']}, every row trained from seed "
                             f"{c['seed']} on the same budget of {c['budget']:,} images (SGD lr {c['lr']}, momentum "
                             f"{c['momentum']}, constant rate, {c['threads']} threads); step time is the median after "
                             f"{c['warmup_steps']} warm-up steps, the device synchronised after every step; 1-minute load "
                             f"average {num(c.get('load_average_at_start', [None])[0], 1)} at the start, "
                             f"{num(s.data['machine']['load_average_1_5_15'][0], 1)} at the end."),
                   Table(["device", "batch", "steps", "median step ms", "images/s",
                          "epoch s (extrapolated from the median step)", "test acc % after budget", "test loss"],
                         [[r["device_name"], str(r["batch_size"]), num(r["steps"]), num(1e3 * r["median_step_seconds"], 3),
                           num(r["images_per_second"], 0), num(r["epoch_seconds_extrapolated"]), num(r["test_accuracy"]),
                           num(r["test_loss"], 4)] for r in s.data["rows"]])]
        for device in dict.fromkeys(r["device"] for r in s.data["rows"]):
            rows = [r for r in s.data["rows"] if r["device"] == device]
            lines.append((f"dlcore {device}, {c['model']}", [(r["batch_size"], r["images_per_second"]) for r in rows]))
            accuracy.append((f"dlcore {device}, {c['model']}, {c['budget']:,} images",
                             [(r["batch_size"], r["test_accuracy"]) for r in rows]))
    if not sweeps:
        blocks.append(missing("the dlcore batch-size sweep", "No `python -m dlcore.sweep` output was given."))
    if torch_rows:
        torch_model = of_kind(sources, Kind.TORCH_PROFILE)[0].data.get("model", "")
        blocks += [Paragraph("PyTorch (baseline_torch profile): training steps timed at each batch size, "
                             "no accuracy recorded."),
                   Table(["device", "batch", "steps", "ms per step", "images/s"],
                         [[r["device"], str(r["batch_size"]), num(r["steps"]), num(r["ms_per_step"], 3),
                           num(r["images_per_second"], 0)] for r in torch_rows])]
        for device in dict.fromkeys(r["device"] for r in torch_rows):
            lines.append((f"torch {device}, {torch_model}", [(r["batch_size"], r["images_per_second"])
                                                             for r in torch_rows if r["device"] == device]))
    else:
        blocks.append(missing("PyTorch's batch-size sweep", "No baseline_torch profile result was given."))
    if lines:
        blocks.append(Figure("batch_size_sweep.png", figures.batch_size_sweep(lines, accuracy, "its budget" if len(sweeps) == 1 else "each sweep's budget"),
                             "Batch-size sweep: training throughput, and dlcore's test accuracy after a fixed budget"))
    return blocks


def devices_measured(sources: list[Source]) -> dict[str, list[str]]:
    """device -> the sources that measured on it."""
    found: dict[str, list[str]] = {}
    for s in sources:
        if s.kind is Kind.DLCORE_RUN:
            names = {str(r.get("device", s.data.get("device"))) for r in s.records}
        elif s.kind is Kind.SWEEP:
            names = {r["device"] for r in s.data["rows"]}
        else:
            names = {str(s.data.get("device"))}
        for name in names:
            found.setdefault("cuda" if name.startswith("cuda") else name, []).append(s.label)
    return found


def cpu_vs_gpu(sources: list[Source]) -> list[Block]:
    blocks: list[Block] = [Heading(3, "CPU against GPU")]
    devices = devices_measured(sources)
    if "cuda" not in devices:
        return blocks + [missing("GPU results", "Every source given ran on the CPU ("
                                 + ", ".join(devices.get("cpu", [])) + "); no GPU run was given, so there is no "
                                 "CPU-against-GPU comparison and no GPU number in this report.")]
    blocks.append(Paragraph("Measured on the GPU: " + ", ".join(devices["cuda"]) + "; on the CPU: "
                            + (", ".join(devices.get("cpu", [])) or "nothing") + "."))
    rows = []
    for s in of_kind(sources, Kind.SWEEP):
        by_key = {(r["device"], r["batch_size"]): r for r in s.data["rows"]}
        for (device, batch), gpu in by_key.items():
            cpu = by_key.get(("cpu", batch))
            if device == "cuda" and cpu:
                rows.append([s.label, str(batch), num(cpu["images_per_second"], 0), num(gpu["images_per_second"], 0),
                             num(gpu["images_per_second"] / cpu["images_per_second"])])
    if rows:
        blocks.append(Table(["sweep", "batch", "CPU images/s", "GPU images/s", "GPU / CPU"], rows))
    else:
        blocks.append(missing("a same-run CPU/GPU comparison", "No sweep measured both devices."))
    return blocks


def profiler(sources: list[Source]) -> list[Block]:
    blocks: list[Block] = [Heading(3, "Profiler: top-10 operators")]
    for s in of_kind(sources, Kind.TORCH_PROFILE):
        for p in s.data.get("profiles", []):
            blocks += [Paragraph(f"PyTorch ({s.label}): {p['steps']} training steps of {s.data.get('model')} at batch "
                                 f"{p['batch_size']} on {p['device']}, sorted by {p['sorted_by']}."),
                       Table(["operator", "calls", "self time us", "self %", "total us"],
                             [[r["operator"], num(r["calls"]), num(r["self_time_us"], 0), num(r["self_percent"], 1),
                               num(r["cpu_total_us"], 0)] for r in p["top10"]])]
    for s in of_kind(sources, Kind.DLCORE_RUN):
        if s.profile_table:
            blocks += [Paragraph(f"dlcore ({s.label}, profile_top10.txt):"), Preformatted(s.profile_table)]
    if not of_kind(sources, Kind.TORCH_PROFILE):
        blocks.append(missing("PyTorch's profile", "No baseline_torch profile result was given."))
    if not any(s.profile_table for s in of_kind(sources, Kind.DLCORE_RUN)):
        blocks.append(missing("dlcore's profile", "No dlcore run given holds a profile_top10.txt."))
    return blocks
