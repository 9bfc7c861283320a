"""Card templates: what a template sees and makes of an incident, and every bound of the sandbox."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from chalicelib.common import clock
from chalicelib.core import sandbox, templates
from chalicelib.core.sandbox import MAX_OUTPUT, MAX_VALUE
from chalicelib.core.templates import CardTemplate, Rendered, TemplateFailed

README = Path(__file__).resolve().parents[2] / "README.md"
PAGE = "https://duty.example.com/app/int_x/incidents/am.sample.1"


def content(source: str, **incident: object) -> list[tuple[str, str]]:
    return templates.render({"content": source}, {**templates.sample(), **incident}, PAGE).lines


def shown(source: str, **incident: object) -> str:
    """The one line ``source`` renders to, as text."""
    return " ".join(value for _, value in content(source, **incident))


def refused(source: str) -> str:
    """The reason a content template is refused, both on save (422) and at send time."""
    with pytest.raises(TemplateFailed) as at_send:
        templates.render({"content": source}, templates.sample(), PAGE)
    with pytest.raises(TemplateFailed) as on_save:
        templates.check("", source)
    assert on_save.value.status == 422 and on_save.value.message == at_send.value.message
    return at_send.value.message


# -- what a template makes ---------------------------------------------------------------------------

def test_lines_become_fields_or_text_and_blank_lines_are_dropped() -> None:
    source = ("级别：{{ severity_zh }}\n\n   \nService: {{ labels.service }}\n{{ url }}\n告警列表：\n"
              "Link: http://a.example.com:8080/x\n" + "k" * 31 + ": too long a key\nplain text line  ")
    assert content(source) == [("级别", "严重"), ("Service", "checkout"), ("", PAGE), ("", "告警列表："),
                               ("Link", "http://a.example.com:8080/x"), ("", "k" * 31 + ": too long a key"),
                               ("", "plain text line")]


def test_the_title_is_one_line_and_no_title_template_leaves_it_empty() -> None:
    rendered = templates.render({"title": "【{{ severity_zh }}】\n{{ title }}\n", "content": "x"},
                                templates.sample(), PAGE)
    assert rendered == Rendered(title="【严重】 结账服务延迟过高 Checkout latency high", lines=[("", "x")])
    assert templates.render({"content": "x"}, templates.sample(), PAGE).title == ""
    assert templates.render({"title": "t"}, templates.sample(), PAGE).lines == []


def test_a_template_sees_the_incident_its_alerts_counts_and_links() -> None:
    source = ("{{ status }} {{ status_en }} {{ severity }} {{ severity_en }} {{ source.name }} {{ source_url }}\n"
              "{% for a in alerts %}{{ a.status_zh }}={{ a.labels.instance }}={{ a.values.A }},{% endfor %}\n"
              "{{ counts.firing }}/{{ counts.resolved }}/{{ counts.not_sent }}/{{ counts.total }}\n"
              "{{ links.dashboard }} {{ last_action.name }} {{ last_action.action_zh }} {{ id }}")
    assert [value for _, value in content(source)] == [
        "acknowledged Acknowledged critical Critical Prometheus 生产 http://prometheus.example.com/graph?g0.expr=latency",
        "触发=10.0.3.7:9100=2.3,触发=10.0.3.8:9100=1.7,恢复=10.0.3.9:9100=1.2,", "2/1/1/4",
        "https://grafana.example.com/d/abc 李雷 认领 am.sample.1"]


def test_an_incident_from_the_api_without_alerts_or_links_renders_empty_values() -> None:
    minimal = {"id": "inc-1", "title": "CPU > 95% on db-1", "severity": "warning", "status": "triggered"}
    source = ("[{{ labels.service }}][{{ links.dashboard }}][{{ alerts|length }}][{{ counts.total }}]"
              "[{{ started_at }}][{{ duration(started_at) }}][{{ last_action.name }}][{{ source.name }}]")
    assert templates.render({"title": "{{ title }}", "content": source}, minimal, PAGE) == Rendered(
        title="CPU > 95% on db-1", lines=[("", "[][][0][0][][][][]")])


def test_times_are_in_the_incidents_timezone_china_when_unset() -> None:
    source = "{{ started_at }}|{{ alerts[0].starts_at }}|{{ alerts[0].ends_at }}"
    at = {"started_at": "2026-12-01T10:00:00Z", "alerts": [{"status": "firing", "starts_at": 1764583200.0}]}
    assert shown(source, **at, timezone="") == "12-01 18:00 (UTC+8)|12-01 18:00 (UTC+8)|"
    assert shown(source, **at, timezone="America/New_York") == "12-01 05:00 (UTC-5)|12-01 05:00 (UTC-5)|"


def test_silenced_until_only_while_silenced_and_a_missing_label_or_none_is_empty() -> None:
    assert shown("[{{ silenced_until }}]", silenced_until=clock.iso(clock.now() - 60)) == "[]"
    assert shown("[{{ silenced_until }}]") != "[]"
    assert shown("[{{ labels.nope }}][{{ links.nope }}][{{ last_action.name }}][{{ none }}]",
                 last_action=None) == "[][][][]"
    assert shown("{{ labels.nope | default('-') }} {% if labels.nope %}yes{% else %}no{% endif %}") == "- no"


def test_duration_and_label_list() -> None:
    start = clock.iso(clock.now() - 3900)
    assert shown("{{ duration(started_at) }} | {{ duration(started_at, lang='en') }}", started_at=start) == \
        "1 小时 5 分 | 1h 5m"
    assert shown("{{ duration(alerts[2].starts_at, alerts[2].ends_at) }} {{ duration('') }}.") == "1 小时 2 分 ."
    assert shown("{{ duration(started_at) }}", started_at=clock.iso(clock.now() - 2 * 86400 - 3 * 3600 - 60)) == \
        "2 天 3 小时"
    assert shown("{{ duration(started_at) }}", started_at=clock.iso(clock.now() - 3600 - 5)) == "1 小时"
    # a stored incident's duration runs to its last change: the card renders the same until the next one
    assert shown("{{ duration(started_at) }}", started_at=clock.iso(clock.now() - 7200),
                 updated_at=clock.iso(clock.now() - 3600)) == "1 小时"
    assert shown("{{ label_list(labels, ['service', 'nope', 'job', 'service']) }}") == "service=checkout, job=node"
    assert shown("{{ label_list({'b': '2', 'a': '1'}, sep=' · ') }}") == "a=1 · b=2"


def test_the_readmes_wecom_example_fills_the_8_lines_of_the_custom_area() -> None:
    section = README.read_text(encoding="utf-8").split("### Card templates", 1)[1]
    example = re.search(r"```jinja\n(.*?)```", section, re.S)[1]
    templates.check("", example)
    lines = content(example)
    assert len(lines) == 8 and all(key for key, _ in lines)
    assert lines[3] == ("实例 Instance", "instance=10.0.3.7:9100")
    assert lines[6] == ("处理 By", "李雷 认领于 " + templates.context(templates.sample(), PAGE)["last_action"]["at"])
    assert len(content(example, last_action=None)) == 7


def test_an_undefined_name_a_syntax_error_or_a_failure_names_the_part_and_line() -> None:
    assert refused("ok\n{{ nope }}") == "template.content line 2: 'nope' is undefined"
    assert refused("a\n\n{{ title }\n") == "template.content line 3: unexpected '}'"
    assert refused("a\n{{ 1 + title }}").startswith("template.content line 2: TypeError: unsupported operand")
    with pytest.raises(TemplateFailed, match=r"^template\.title line 1: 'x' is undefined$"):
        templates.check("{{ x }}", "fine")
    templates.check("{{ title }}", "服务：{{ labels.service }}")


def test_the_setting_takes_a_title_or_a_content_within_their_sizes() -> None:
    assert CardTemplate(content="x").title == ""
    for wrong in ({}, {"title": " ", "content": "\n"}, {"title": "x", "other": "y"}, {"content": "x" * 8001},
                  {"title": "x" * 1001}):
        with pytest.raises(ValidationError):
            CardTemplate(**wrong)


# -- the sandbox and its bounds ------------------------------------------------------------------------

@pytest.mark.parametrize("source", [
    "{{ ''.__class__.__mro__ }}", "{{ labels.__class__ }}", "{{ duration.__globals__ }}",
    "{{ cycler.__init__.__globals__ }}", "{{ labels['__class__'] }}", "{{ range.__self__ }}",
    "{{ labels.update({'a': '1'}) }}", "{{ labels.update }}", "{{ title.ljust }}", "{{ dict.fromkeys([1]) }}",
])
def test_python_internals_are_refused(source: str) -> None:
    assert "not available" in refused(source) or "unsafe" in refused(source)


def test_include_import_and_extends_are_refused() -> None:
    for source in ("{% include 'a' %}", "{% import 'a' as b %}", "{% extends 'a' %}", "{% from 'a' import b %}"):
        assert refused(source) == ("template.content line 1: include, import and extends are not available "
                                   "(there is nothing to load)")


@pytest.mark.parametrize("source", ["{{ " + "(" * 3000 + "1" + ")" * 3000 + " }}", "{{ " + "-" * 3900 + "1 }}",
                                    "{{ " + "[" * 3000 + "1" + "]" * 3000 + " }}",
                                    "{% if 1 %}" * 100 + "{% endif %}" * 100])
def test_a_source_nested_deeper_than_the_parser_goes_is_refused(source: str) -> None:
    assert refused(source) == "template.content: nested too deeply"


def test_the_template_source_is_bounded() -> None:
    assert refused("x" * 8001) == "template.content: longer than 8000 characters"
    with pytest.raises(TemplateFailed, match="template.title: longer than 1000 characters"):
        templates.check("x" * 1001, "")


def test_the_output_is_bounded_in_bytes_and_the_title_in_characters() -> None:
    chinese = "{% for i in range(27) %}{% for j in range(100) %}中{% endfor %}{% endfor %}"  # 3 bytes each
    assert len(shown(chinese).encode()) == 8100
    assert refused(chinese.replace("27", "28")) == "template.content: longer than 8192 bytes"
    with pytest.raises(TemplateFailed, match="template.title: longer than 256 characters"):
        templates.check("{% for i in range(257) %}x{% endfor %}", "")


def test_everything_a_render_outputs_is_bounded_blocks_and_macros_too() -> None:
    source = "{% set a %}{% for i in range(30) %}{{ b }}{% endfor %}{% endset %}{{ a|length }}"
    assert refused("{% set b = 'x' * 10000 %}" + source) == (
        f"template.content line 1: more than {MAX_OUTPUT} characters of output")


def test_range_is_bounded() -> None:
    assert shown("{{ range(1000)|length }}") == "1000"
    assert refused("{{ range(1001)|length }}") == "template.content line 1: range() of more than 1000 numbers"


def test_loop_steps_are_bounded_however_the_loops_are_written() -> None:
    assert refused("{% for i in range(200) %}{% for j in range(100) %}{% endfor %}{% endfor %}") == (
        "template.content line 1: more than 10000 loop steps")


def test_the_steps_of_a_recursive_loop_count_too(monkeypatch) -> None:
    monkeypatch.setattr(sandbox, "SECONDS", 60)  # the step limit, not the deadline, even on a loaded machine
    source = "{% for i in [1] recursive %}{% if loop.depth < 3 %}{{ loop(range(1000)) }}{% endif %}{% endfor %}"
    assert refused(source) == "template.content line 1: more than 10000 loop steps"


def test_a_namespace_shows_no_values_it_holds() -> None:
    assert shown("{% set ns = namespace(a='x' * 100000) %}{{ [ns, ns, ns, ns] }}") == \
        "[<namespace>, <namespace>, <namespace>, <namespace>]"


def test_loop_nesting_is_checked_before_rendering() -> None:
    source = "{% for a in range(2) %}\n{% for b in range(2) %}\n{% for c in range(2) %}\n{% for d in range(2) %}" \
             "\n{% endfor %}{% endfor %}{% endfor %}{% endfor %}"
    assert refused(source) == "template.content line 4: loops nested deeper than 3"
    assert shown(source.replace("\n{% for d in range(2) %}", "").replace("{% endfor %}", "", 1)) == ""


@pytest.mark.parametrize(("source", "reason"), [
    ("{{ ('x' * 2000000)|length }}", f"* making more than {MAX_VALUE} characters"),
    ("{{ ([1] * 200000 * 2)|length }}", f"* making more than {MAX_VALUE} characters"),
    ("{{ ('%02000000d' % 1)|length }}", "% does not format text here"),
    ("{{ (2 ** 100000) > 1 }}", "a number larger than 256 bits"),
    ("{% set ns = namespace(n=10**18) %}{% for i in range(12) %}{% set ns.n = ns.n * ns.n %}{% endfor %}{{ ns.n > 0 }}",
     "a number larger than 256 bits"),
])
def test_operators_that_grow_values_are_bounded(source: str, reason: str) -> None:
    assert reason in refused(source)


def test_numbers_still_take_their_operators() -> None:
    assert shown("{{ 7 % 3 }} {{ 2 ** 10 }} {{ 'ab' * 2 }} {{ [1] + [2] }} {{ loop_free if false else 3 * 4 }}") == \
        "1 1024 abab [1, 2] 12"


def test_concatenation_is_bounded_before_it_is_made() -> None:
    source = "{% set a = 'x' * 100000 %}{% set b = a ~ a ~ a %}{{ b|length }}"
    assert f"~ making more than {MAX_VALUE} characters" in refused(source)


def test_what_filters_and_calls_make_is_measured() -> None:
    assert f"a value larger than {MAX_VALUE} characters" in refused("{{ ('<' * 100000)|urlencode|length }}")
    assert f"a value larger than {MAX_VALUE} characters" in refused(
        "{{ label_list(labels, sep='x' * 50000)|length }}")


def test_list_literals_are_bounded_so_a_doubled_value_is_never_walked() -> None:
    doubling = ("{% set ns = namespace(a=[1], b=[1]) %}{% for i in range(22) %}{% set ns.a = [ns.a, ns.a] %}"
                "{% set ns.b = [ns.b, ns.b] %}{% endfor %}{{ ns.a == ns.b }}")
    assert "values nested deeper than 10 levels" in refused(doubling)
    assert f"a value larger than {MAX_VALUE} characters" in refused(
        "{% set a = 'x' * 100000 %}{{ [a, a, a]|length }}")


@pytest.mark.parametrize("name", ["center", "format", "indent", "wordwrap", "random", "attr", "pprint", "tojson",
                                  "xmlattr", "slice", "urlize"])
def test_filters_outside_the_whitelist_are_unknown(name: str) -> None:
    assert refused(f"{{{{ title|{name}(2000000) }}}}") == f"template.content line 1: No filter named '{name}'."


@pytest.mark.parametrize("source", ["{{ 'x'.ljust(2000000)|length }}", "{{ '{:>2000000}'.format(1)|length }}",
                                    "{{ (1).to_bytes(2000000, 'big')|length }}", "{{ 'x'.zfill(2000000)|length }}"])
def test_methods_outside_the_whitelist_are_refused(source: str) -> None:
    assert "is not available" in refused(source)


@pytest.mark.parametrize(("source", "reason"), [
    ("{{ range(1000)|join('x' * 1000)|length }}", f"join() of more than {MAX_VALUE} characters"),
    ("{{ ('x' * 1000)|replace('x', 'y' * 1000)|length }}", f"replace() making more than {MAX_VALUE} characters"),
    ("{{ [1]|batch(2000, 0)|list|length }}", "batch() of more than 1000 items"),
    ("{{ [[1]]|sum(start=[]) }}", "sum() adds numbers only"),
])
def test_filters_that_grow_with_an_argument_check_before_they_run(source: str, reason: str) -> None:
    assert reason in refused(source)


def test_whitelisted_filters_and_methods_work() -> None:
    source = ("{{ alerts|selectattr('status', 'eq', 'firing')|map(attribute='summary')|join('; ') }} | "
              "{{ labels|dictsort|first|join('=') }} | {{ title.split()|last|upper }} | {{ labels.get('job') }} | "
              "{{ description|truncate(12, true, '…') }} | {{ alerts|groupby('status')|map('first')|join(',') }}")
    assert shown(source) == ("10.0.3.7:9100 p99 2.3 s; 10.0.3.8:9100 p99 1.7 s | alertname=HighLatency | HIGH | "
                             "node | p99 延迟 2.3 … | firing,resolved")


def test_recursion_through_macros_stops_at_the_deadline(monkeypatch) -> None:
    monkeypatch.setattr(sandbox, "SECONDS", 0.05)
    source = "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(16) }}"
    assert refused(source) == "template.content line 1: took longer than 0.05 s"
