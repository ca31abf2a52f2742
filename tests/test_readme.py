"""The README and the pages under docs/ stay true to the code and to each other: the README is short and starts
with the two set-up commands (the test one is what .ci/run runs), the settings table in docs/hosting.md is the one
gan/settings.py prints, every registered dataset, model and loss has a row in docs/models.md, every relative link
resolves (file and #anchor), every docs page is linked from the README, and every `python -m gan ...` command
shown parses with the CLI's own parser and names registered models, losses and datasets."""
import re
import shlex
from pathlib import Path

from gan import settings
from gan.cli.main import UsageError, build_parser
from gan.registry import DATASETS, LOSSES, MODELS

ROOT = next(p for p in Path(__file__).resolve().parents if (p / "README.md").is_file() and (p / "gan").is_dir())
README = (ROOT / "README.md").read_text()
DOCS = ROOT / "docs"
PAGES = [ROOT / "README.md", ROOT / "README.zh-CN.md", *sorted(DOCS.glob("*.md"))]
TABLES_PAGE = DOCS / "models.md"      # the datasets, models and losses tables
SETTINGS_PAGE = DOCS / "hosting.md"   # the GAN_* settings table
MAX_README_LINES = 300

LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def _prose(text: str) -> str:
    """`text` without fenced code blocks and inline code, where brackets are not links."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)
    return re.sub(r"`[^`\n]*`", "", text)


def _anchors(page: Path) -> set[str]:
    """GitHub's anchors for the headings of a markdown page."""
    out = set()
    for title in re.findall(r"^#{1,6} +(.+?) *#*$", re.sub(r"^```.*?^```", "", page.read_text(), flags=re.M | re.S),
                            flags=re.M):
        slug = re.sub(r"[^\w\- ]", "", title.replace("`", "").strip().lower()).replace(" ", "-")
        out.add(slug)
    return out


def _links(page: Path) -> list[str]:
    return [t for t in LINK.findall(_prose(page.read_text())) if not re.match(r"[a-z][a-z0-9+.-]*:", t)]


def test_the_settings_table_is_the_one_settings_prints():
    assert settings.markdown_table() in SETTINGS_PAGE.read_text(), \
        f"{SETTINGS_PAGE.relative_to(ROOT)}'s settings table is stale: paste gan.settings.markdown_table()"


def test_every_registered_name_has_a_row():
    text = TABLES_PAGE.read_text()
    rows = set(re.findall(r"^\| `([^`]+)`", text, flags=re.M))
    rows |= {n for cell in re.findall(r"^\| (`[^|]+)\|", text, flags=re.M) for n in re.findall(r"`([^`]+)`", cell)}
    for registry in (DATASETS, MODELS, LOSSES):
        missing = [name for name in registry.names() if name not in rows]
        assert not missing, f"no row in {TABLES_PAGE.relative_to(ROOT)} for {missing}"


def test_the_test_command_is_the_one_ci_runs():
    commands = re.findall(r"```bash\n(python3 -m venv[^\n]+)\n```", README)
    assert len(commands) >= 2, "the README must start with the two set-up commands"
    assert "demo/app.py" in commands[0], "the first set-up command runs the app"
    assert commands[1] in (ROOT / ".ci" / "run").read_text()


def test_the_readme_is_short_and_keeps_the_space_front_matter():
    lines = README.splitlines()
    assert len(lines) <= MAX_README_LINES, f"README.md has {len(lines)} lines; the limit is {MAX_README_LINES}"
    assert lines[0] == "---" and "---" in lines[1:], "the README must start with the Space's YAML front matter"
    front = lines[1:lines.index("---", 1)]
    app_file = next(line.split(":", 1)[1].strip() for line in front if line.startswith("app_file:"))
    assert (ROOT / app_file).is_file(), f"the front matter's app_file {app_file} does not exist"


def test_every_relative_link_resolves():
    broken = []
    for page in PAGES:
        for target in _links(page):
            path, _, anchor = target.partition("#")
            dest = (page.parent / path).resolve() if path else page
            where = f"{page.relative_to(ROOT)}: ({target})"
            if not dest.exists():
                broken.append(f"{where}: no such file")
            elif anchor and dest.suffix == ".md" and anchor not in _anchors(dest):
                broken.append(f"{where}: no heading #{anchor}")
    assert not broken, "\n".join(broken)


def test_the_chinese_readme_is_linked_from_the_top_and_short():
    assert "README.zh-CN.md" in "\n".join(README.split("\n## ", 1)[0].splitlines()[:20])
    lines = (ROOT / "README.zh-CN.md").read_text().splitlines()
    assert len(lines) <= 80 and any("docs/zh/" in line for line in lines)


def test_every_docs_page_is_linked_from_the_readme():
    linked = {(ROOT / t.partition("#")[0]).resolve() for t in _links(ROOT / "README.md")}
    orphans = [p.name for p in DOCS.glob("*.md") if p.resolve() not in linked]
    assert not orphans, f"docs pages the README does not link: {orphans}"


def _gan_commands() -> list[tuple[str, list[str]]]:
    """Every `python -m gan ...` (or `torchrun ... -m gan ...`) command in the README and docs, as argv."""
    found = []
    for page in PAGES:
        text = re.sub(r"\\\n\s*", " ", page.read_text())  # join shell line continuations
        for line in re.findall(r"-m gan ([^\n`]*)", text):
            argv = shlex.split(line, comments=True)
            found.append((f"{page.relative_to(ROOT)}: {line.strip()}", argv))
    return found


def test_every_cli_command_shown_parses():
    commands = _gan_commands()
    assert len(commands) >= 10, "the README and docs show the CLI"
    parser = build_parser()
    wrong = []
    for where, argv in commands:
        if "--help" in argv:
            argv = [a for a in argv if a != "--help"]
            if argv[0] not in parser._subparsers._group_actions[0].choices:  # noqa: SLF001 - the subcommand names
                wrong.append(f"{where}: no command {argv[0]}")
            continue
        try:
            a = parser.parse_args(argv)
        except UsageError as e:
            wrong.append(f"{where}: {e}")
            continue
        if getattr(a, "model", None) and a.model not in MODELS.names():
            wrong.append(f"{where}: no model {a.model}")
        if getattr(a, "loss", None) and a.loss not in LOSSES.names():
            wrong.append(f"{where}: no loss {a.loss}")
        dataset = getattr(a, "dataset", None)
        if dataset and dataset not in DATASETS.names() and not dataset.startswith(("folder:", "pair:")):
            wrong.append(f"{where}: no dataset {dataset}")
    assert not wrong, "\n".join(wrong)
