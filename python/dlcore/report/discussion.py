"""The discussion and the conclusion: sentences computed from the numbers of the sources (every
comparison states its direction and size as measured), and the list of what was not measured."""
from __future__ import annotations

import math
import statistics

from .analysis import faster_phrase, over_fitting, summarise
from .document import Block, Bullets, Heading, Paragraph
from .intro import CIFAR, MNIST
from .results_systems import devices_measured
from .results_training import training_series
from .sources import Kind, Source, of_kind


def speed(sources: list[Source]) -> list[str]:
    lines = []
    for s in of_kind(sources, Kind.TORCH_COMPARE):
        sides = s.data["sides"]
        if all(sides.get(k, {}).get("status") == "ok" for k in ("dlcore", "torch")):
            d, t = summarise(sides["dlcore"]["epochs"]), summarise(sides["torch"]["epochs"])
            lines.append(f"Same session ({s.label}, {s.data.get('device')}, {s.data.get('threads')} threads): "
                         f"{faster_phrase('dlcore', d.median_seconds, 'PyTorch', t.median_seconds)} per median "
                         f"training epoch (fastest epochs: {d.fastest_seconds:.3f} s vs {t.fastest_seconds:.3f} s); "
                         f"final test accuracy {d.final_test_accuracy:.2f}% vs {t.final_test_accuracy:.2f}% "
                         f"({d.final_test_accuracy - t.final_test_accuracy:+.2f} points); peak memory "
                         f"{d.peak_memory_mib:.0f} vs {t.peak_memory_mib:.0f} MiB.")
    torch_hardware = next((s.data["hardware"] for s in sources if "hardware" in s.data), None)
    for dataset in (MNIST, CIFAR):
        series = training_series(sources, dataset)
        ours = [(label, r) for label, f, _, r in series if f == "dlcore" and "same session" not in label]
        theirs = [(label, r) for label, f, _, r in series if f == "torch" and "same session" not in label]
        for (a, ra) in ours:
            for (b, rb) in theirs[:1]:
                sa, sb = summarise(ra), summarise(rb)
                lines.append(f"Separate sessions on {dataset}: {faster_phrase(a, sa.median_seconds, b, sb.median_seconds)} "
                             f"per median epoch ({recorded_where(torch_hardware)}, the dlcore run records no hardware, "
                             "so machine and load may differ).")
    return lines


def recorded_where(hardware: dict | None) -> str:
    """Where the PyTorch numbers were measured, as they recorded it."""
    if not hardware:
        return "PyTorch's result records no hardware"
    return f"PyTorch's result was recorded on {hardware.get('cpu_model')} on {str(hardware.get('date'))[:10]}"


def over_fitting_lines(sources: list[Source]) -> list[str]:
    lines = []
    for dataset in (MNIST, CIFAR):
        series = training_series(sources, dataset)
        judged = [(label, over_fitting(records)) for label, _, _, records in series if len(records) >= 3]
        if judged:
            fits = [(label, found) for label, found in judged if found is not None]
            text = f"{dataset}: {len(fits)} of {len(judged)} runs with 3 or more epochs over-fit"
            if fits:
                label, first = min(fits, key=lambda x: x[1].onset_epoch)
                text += (f"; the earliest is {label}, from epoch {first.onset_epoch}, its test loss ending "
                         f"{100 * (first.last_test_loss / first.best_test_loss - 1):.1f}% above its minimum")
            lines.append(text + ".")
    for s in of_kind(sources, Kind.TORCH_CIFAR):
        gaps = {r["name"]: r["epochs"][-1]["train_accuracy"] - r["epochs"][-1]["test_accuracy"]
                for r in s.data["runs"] if "train_accuracy" in r["epochs"][-1]}
        finals = {r["name"]: r["epochs"][-1]["test_accuracy"] for r in s.data["runs"]}
        if gaps:
            widest, narrowest = max(gaps, key=gaps.get), min(gaps, key=gaps.get)
            best = max(finals, key=finals.get)
            lines.append(f"Regularisers ({s.label}): the widest train-test accuracy gap is {widest} "
                         f"({gaps[widest]:.1f} points), the narrowest {narrowest} ({gaps[narrowest]:.1f}); the best "
                         f"final test accuracy is {best}'s, {finals[best]:.2f}%.")
    return lines


def parallel_lines(sources: list[Source]) -> list[str]:
    lines = []
    for s in of_kind(sources, Kind.TORCH_PARALLEL):
        for model in dict.fromkeys(r["model"] for r in s.data["summary"]):
            rows = [r for r in s.data["summary"] if r["model"] == model and r["status"] == "ok" and r["mode"] != "single"]
            if not rows:
                continue
            best, worst = max(rows, key=lambda r: r["speedup_vs_single"]), min(rows, key=lambda r: r["speedup_vs_single"])
            text = (f"Parallel training of {model}: the best mode, {best['mode']}, runs at {best['speedup_vs_single']:.2f}x "
                    f"the single-device speed, the worst, {worst['mode']}, at {worst['speedup_vs_single']:.2f}x")
            if all(r["simulated"] for r in rows):
                text += (f". Every mode was simulated on the single run's own hardware ({s.data.get('device')}, "
                         f"{len(s.data.get('gpus', []))} GPUs), so none had more compute than the single run")
                if worst["speedup_vs_single"] < 1:
                    text += ("; what the slower modes lost is the cost of their extra replicas or processes and "
                             "of exchanging gradients, with no extra hardware to pay for it")
                if best["speedup_vs_single"] > 1:
                    text += ("; what the faster modes gained can only come from using the same cores better "
                             "(smaller per-replica batches or one thread per process), not from more devices")
            lines.append(text + ".")
    return lines


def precision_lines(sources: list[Source]) -> list[str]:
    lines = []
    for s in of_kind(sources, Kind.TORCH_AMP):
        ok = {(r["model"], r["precision"]): r for r in s.data["summary"] if r["status"] == "ok"}
        for (model, precision), r in ok.items():
            base = ok.get((model, "fp32"))
            if base and precision != "fp32":
                lines.append(f"Mixed precision, {model}: {precision} trains at {r['images_per_second'] / base['images_per_second']:.2f}x "
                             f"fp32's throughput, test accuracy {r['final_test_accuracy'] - base['final_test_accuracy']:+.2f} "
                             f"points after the same epoch.")
    return lines


def sweep_lines(sources: list[Source]) -> list[str]:
    lines = []
    profiles = of_kind(sources, Kind.TORCH_PROFILE)
    torch_rows = {(r["device"], r["batch_size"]): r for s in profiles for r in s.data.get("batch_size_sweep", [])}
    torch_hardware = profiles[0].data.get("hardware") if profiles else None
    for s in of_kind(sources, Kind.SWEEP):
        for device in dict.fromkeys(r["device"] for r in s.data["rows"]):
            rows = sorted((r for r in s.data["rows"] if r["device"] == device), key=lambda r: r["batch_size"])
            small, large = rows[0], rows[-1]
            text = (f"dlcore on {device}: batch {large['batch_size']} trains at {large['images_per_second'] / small['images_per_second']:.2f}x "
                    f"the images per second of batch {small['batch_size']}; after the same {s.data['config']['budget']:,} "
                    f"images batch {small['batch_size']} ({small['steps']:,} steps) reaches {small['test_accuracy']:.2f}% "
                    f"and batch {large['batch_size']} ({large['steps']:,} steps) {large['test_accuracy']:.2f}%")
            chance_loss = math.log(len(large["per_class_accuracy"]) or 10)
            stuck = [r for r in rows if not r["train_loss"] < 0.98 * chance_loss]  # NaN counts as stuck
            if stuck:
                text += ("; " + ", ".join(f"batch {r['batch_size']} (mean train loss {r['train_loss']:.3f})" for r in stuck)
                         + f" did not learn: a loss of ln {len(large['per_class_accuracy'])} = {chance_loss:.3f} "
                         f"is chance level, at the sweep's one learning rate ({s.data['config']['lr']}) for every batch size")
            ratios = [f"batch {r['batch_size']} {r['images_per_second'] / torch_rows[(device, r['batch_size'])]['images_per_second']:.2f}x"
                      for r in rows if (device, r["batch_size"]) in torch_rows]
            if ratios:
                text += (f"; dlcore's throughput over PyTorch's (separate sessions: dlcore's on "
                         f"{s.data['machine']['cpu_model']} on {s.data['machine']['date'][:10]}, "
                         f"{recorded_where(torch_hardware)}): "
                         f"{', '.join(ratios)}")
            lines.append(text + ".")
    return lines


def device_lines(sources: list[Source]) -> list[str]:
    if "cuda" not in devices_measured(sources):
        return ["No GPU run was given: nothing here says how either framework performs on a GPU."]
    ratios = [r_gpu["images_per_second"] / r_cpu["images_per_second"]
              for s in of_kind(sources, Kind.SWEEP) for r_gpu in s.data["rows"] if r_gpu["device"] == "cuda"
              for r_cpu in s.data["rows"] if r_cpu["device"] == "cpu" and r_cpu["batch_size"] == r_gpu["batch_size"]]
    if not ratios:
        return ["A GPU was measured, but no sweep measured both devices at the same batch size."]
    return [f"GPU against CPU in the sweep: median {statistics.median(ratios):.1f}x the CPU's images/s "
            f"(from {min(ratios):.1f}x to {max(ratios):.1f}x over the batch sizes)."]


def discussion(sources: list[Source]) -> tuple[list[Block], dict[str, list[str]]]:
    topics = {"Speed and memory": speed(sources), "Over-fitting": over_fitting_lines(sources),
              "Parallel training": parallel_lines(sources), "Mixed precision": precision_lines(sources),
              "Batch size": sweep_lines(sources), "CPU and GPU": device_lines(sources)}
    blocks: list[Block] = [Heading(2, "Discussion")]
    for topic, lines in topics.items():
        if lines:
            blocks += [Heading(3, topic), Bullets(lines)]
    return blocks, topics


def headline(line: str) -> str:
    """A finding's first clause (up to its first '; ' or sentence end), for the conclusion."""
    return line.split("; ")[0].split(". ")[0].rstrip(".")


def conclusion(topics: dict[str, list[str]], missing_items: list[str]) -> list[Block]:
    """The headline of every finding, topic by topic, then everything the sources did not measure."""
    blocks: list[Block] = [Heading(2, "Conclusion"),
                           Bullets([f"{topic}: " + " ".join(f"{headline(line)}." for line in lines)
                                    for topic, lines in topics.items() if lines])]
    if missing_items:
        blocks += [Paragraph("Not measured by the sources given (stated as missing above, never filled in):"),
                   Bullets(missing_items)]
    return blocks
