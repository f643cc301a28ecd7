"""The bench package imports and its report formatting works (no timing here: `make bench`)."""

import importlib

from bench import report
from bench.run import CASES
from bench.server import parse_wrk

SAMPLE = {
    "machine": {"nproc": 2, "cpu": "Test CPU", "memory_gib": 4, "python": "3.11", "date": "x"},
    "cases": [1, 3],
    "seconds": 12.5,
    "figures": [
        {
            "case": 3,
            "name": "full scan | vs GROUP BY",
            "measured": "740 ms; 560 ms",
            "ratio": 1.3214,
            "target": "≤ 1.3x",
            "met": False,
            "raw": {},
        },
        {
            "case": 1,
            "name": "errors",
            "measured": "0",
            "ratio": None,
            "target": "0",
            "met": True,
            "raw": {},
        },
    ],
    "errors": [{"case": 6, "error": "RuntimeError: boom"}],
}

WRK = """Running 20s test @ http://127.0.0.1:1/bench/baseline/
  2 threads and 32 connections
  Latency Distribution
     50%  10.00ms
     75%  12.00ms
     90%   1.50s
     99%  800.00us
  1000 requests in 20.00s, 1.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:     50.00
"""


def test_every_case_module_imports():
    for module in CASES.values():
        assert callable(importlib.import_module(module).run)


def test_table_lists_figures_in_case_order_with_targets_and_misses():
    table = report.format_table(SAMPLE)
    lines = table.splitlines()
    assert lines[2].startswith("| 1 | Config read: errors |")
    assert "| 3 | Duplicate detection: full scan \\| vs GROUP BY |" in lines[3]
    assert "1.32x" in lines[3]
    assert lines[3].endswith("| **no** |")
    assert lines[4].startswith("| 6 | RuntimeError: boom |")
    assert "Test CPU" in report.format_markdown(SAMPLE)


def test_readme_block_appended_once_then_replaced(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# Project\n")
    report.update_readme("table one\n", readme)
    report.update_readme("table two\n", readme)
    text = readme.read_text()
    assert text.count("## Benchmarks") == 1
    assert "table two" in text
    assert "table one" not in text


def test_wrk_output_parsed():
    result = parse_wrk(WRK)
    assert result["rps"] == 50.0
    assert abs(result["p99_s"] - 0.0008) < 1e-12
    assert result["p90_s"] == 1.5
    assert result["errors"] == 7
