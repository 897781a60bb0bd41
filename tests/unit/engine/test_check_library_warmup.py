"""The checks zygote builds, once, what the checks library would otherwise build in every fork."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

# Run in a fresh interpreter: the test process may have tokenized something already.
_PROBE = """
import tokenize
from engine import check_zygote
from checks import prose
check_zygote._import_library()
before = tokenize._compile.cache_info().misses
source = "import boto3\\n# Lists the bucket, then deletes it.\\ns3 = boto3.client('s3')  # one client\\n"
chunks = list(prose.Scan().tokens("main.py", source))
assert chunks, "nothing was tokenized"
print(tokenize._compile.cache_info().misses - before)
"""


def test_a_checks_fork_tokenizes_sources_without_compiling_the_tokenizers_patterns():
    result = subprocess.run(
        [sys.executable, "-c", _PROBE], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "0", result.stdout + result.stderr
