"""The test tree itself: pytest imports test files by base name where a folder is not a package."""

from pathlib import Path

TESTS = Path(__file__).resolve().parent


def test_no_two_test_modules_share_a_name_outside_packages():
    seen: dict[str, Path] = {}
    clashes = []
    for path in sorted(TESTS.rglob("*.py")):
        if (path.parent / "__init__.py").exists() or path.parent == TESTS:
            continue
        if path.name in seen and path.name != "conftest.py":
            clashes.append(f"{seen[path.name]} and {path}")
        seen.setdefault(path.name, path)
    assert clashes == [], "give these folders an __init__.py or rename: " + "; ".join(clashes)
