"""One cold start in a fresh process: import a handler as Lambda does, then its first event.

Run by `socialcare_cli.bench_cold` as a script (`python -S bench_probe.py SPEC OUT`), never
imported: it uses the standard library only, so the clock sees what the function loads and
nothing of the harness. SPEC is a JSON file: {"handler": "<dir>/app.py" | null (then
`import boto3` alone, the baseline), "function": name, "event": {...} | null}. OUT gets one
JSON object: import_ms, first_event_ms (import plus the first event), the same in CPU time
(*_cpu_ms: what a busy machine does not stretch), peak_mib and
a short outcome of the event (status, failures), never the handler's full answer.
"""

import importlib.util
import json
import resource
import sys
import time
import traceback


class Context:
    """The parts of Lambda's context object the handlers and Powertools read."""

    def __init__(self, name: str) -> None:
        self.function_name = name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:eu-west-1:123456789012:function:{name}"
        self.memory_limit_in_mb = 256
        self.aws_request_id = "bench-0000"
        self.log_group_name = f"/aws/lambda/{name}"
        self.log_stream_name = "bench"
        self._deadline = time.monotonic() + 30

    def get_remaining_time_in_millis(self) -> int:
        return int((self._deadline - time.monotonic()) * 1000)


def outcome(result: object) -> object:
    """What the event came to, short: a Function URL answer's body only by its length."""
    if not isinstance(result, dict):
        return result if isinstance(result, (int, float, str, bool, type(None))) else "?"
    short = {k: v for k, v in result.items() if k not in ("headers", "body", "cookies")}
    if "batchItemFailures" in short:
        short["batchItemFailures"] = len(short["batchItemFailures"])
    return short


def peak_mib() -> float:
    """This process's peak resident memory. Not getrusage: its maximum survives exec, so a
    child of a big harness would report the harness."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(spec_path: str, out_path: str) -> None:
    with open(spec_path, encoding="utf-8") as f:
        spec = json.load(f)
    start, cpu = time.perf_counter(), time.process_time()
    if spec["handler"] is None:
        import boto3  # noqa: F401 - the baseline: what every function pays anyway

        handler = None
    else:
        module_spec = importlib.util.spec_from_file_location("app", spec["handler"])
        assert module_spec is not None and module_spec.loader is not None
        module = importlib.util.module_from_spec(module_spec)
        sys.modules["app"] = module
        module_spec.loader.exec_module(module)
        handler = module.handler
    imported, imported_cpu = time.perf_counter(), time.process_time()
    report: dict[str, object] = {
        "import_ms": (imported - start) * 1000,
        "import_cpu_ms": (imported_cpu - cpu) * 1000,
    }
    if handler is not None and spec.get("event") is not None:
        try:
            report["outcome"] = outcome(handler(spec["event"], Context(spec["function"])))
        except Exception as exc:
            traceback.print_exc()
            report["outcome"] = {"error": type(exc).__name__}
        report["first_event_ms"] = (time.perf_counter() - start) * 1000
        report["first_event_cpu_ms"] = (time.process_time() - cpu) * 1000
    report["peak_mib"] = peak_mib()
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(report, f)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
