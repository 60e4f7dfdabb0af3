"""Usage reports (generations.reports) and the SVG charts (generations.charts)."""
from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from xml.etree import ElementTree

import pytest
from django.utils import timezone

from generations import charts, reports
from generations.models import Generation
from tests.helpers.factories import (
    GenerationFactory,
    TeamFactory,
    UserFactory,
    VideoModelFactory,
)

pytestmark = pytest.mark.django_db


def days_ago(n: int, hour: int = 12):
    now = timezone.localtime()
    return now.replace(hour=hour, minute=0, second=0, microsecond=0) - timedelta(days=n)


def test_daily_generations_by_model_counts_each_day_and_fills_gaps_with_zeros():
    luma = VideoModelFactory(id="Luma-Ray2")
    GenerationFactory(created_at=days_ago(0))
    GenerationFactory(created_at=days_ago(0))
    GenerationFactory(created_at=days_ago(2), model=luma)
    GenerationFactory(created_at=days_ago(40))  # outside the window

    result = reports.daily_generations(7, by="model")

    assert len(result.days) == 7
    assert result.days[-1] == timezone.localdate()
    assert list(result.series) == ["Veo3", "Luma-Ray2"]  # largest total first
    assert result.series["Veo3"] == [0, 0, 0, 0, 0, 0, 2]
    assert result.series["Luma-Ray2"] == [0, 0, 0, 0, 1, 0, 0]
    assert result.total == 3
    assert result.labels[-1] == timezone.localdate().isoformat()


def test_daily_generations_by_status_follows_the_lifecycle_order():
    GenerationFactory(failed=True, created_at=days_ago(1))
    GenerationFactory(succeeded=True, created_at=days_ago(1))
    GenerationFactory(created_at=days_ago(0))

    result = reports.daily_generations(3, by="status")

    assert list(result.series) == ["queued", "succeeded", "failed"]
    assert result.series["failed"] == [0, 1, 0]
    assert result.series["queued"] == [0, 0, 1]


def test_daily_generations_refuses_an_unknown_split():
    with pytest.raises(ValueError):
        reports.daily_generations(7, by="owner")


def test_daily_usage_of_a_user_counts_jobs_but_not_refunded_credits():
    alice = UserFactory(username="alice")
    GenerationFactory(owner=alice, succeeded=True, credits=Decimal("12.50"), video_seconds=8, created_at=days_ago(0))
    GenerationFactory(owner=alice, failed=True, credits=Decimal("10"), video_seconds=4, created_at=days_ago(0))
    GenerationFactory(owner=alice, credits=Decimal("3"), video_seconds=5, created_at=days_ago(1))
    GenerationFactory(credits=Decimal("99"), created_at=days_ago(0))  # somebody else

    usage = reports.daily_usage(user=alice, days=3)

    assert [u.day for u in usage] == [timezone.localdate() - timedelta(days=n) for n in (2, 1, 0)]
    assert usage[0] == reports.DayUsage(day=usage[0].day)
    assert (usage[1].jobs, usage[1].credits, usage[1].video_seconds) == (1, Decimal("3"), 5)
    assert (usage[2].jobs, usage[2].succeeded, usage[2].credits, usage[2].video_seconds) == (2, 1, Decimal("12.50"), 8)


def test_daily_usage_of_a_team_counts_only_jobs_run_in_that_team():
    team = TeamFactory()
    GenerationFactory(team=team, credits=Decimal("5"), created_at=days_ago(0))
    GenerationFactory(team=team, visibility=Generation.Visibility.TEAM, credits=Decimal("7"), created_at=days_ago(0))
    GenerationFactory(credits=Decimal("100"), created_at=days_ago(0))

    today = reports.daily_usage(team=team, days=1)[0]

    assert (today.jobs, today.credits) == (2, Decimal("12"))


def test_daily_usage_keeps_jobs_their_owners_deleted():
    GenerationFactory(succeeded=True, deleted_at=timezone.now(), created_at=days_ago(0))

    assert reports.daily_usage(days=1)[0].jobs == 1


def test_credits_by_team_ranks_teams_and_counts_personal_jobs_apart():
    red, blue = TeamFactory(name="Red"), TeamFactory(name="Blue")
    GenerationFactory(team=red, credits=Decimal("10"), created_at=days_ago(1))
    GenerationFactory(team=blue, credits=Decimal("30"), created_at=days_ago(1))
    GenerationFactory(team=blue, cancelled=True, credits=Decimal("500"), created_at=days_ago(1))
    GenerationFactory(credits=Decimal("4"), created_at=days_ago(1))

    assert reports.credits_by_team(30) == [("Blue", Decimal("30")), ("Red", Decimal("10")), ("(no team)", Decimal("4"))]
    assert [name for name, _ in reports.credits_by_team(30, include_personal=False)] == ["Blue", "Red"]


def test_top_users_ranks_by_credits_then_jobs_and_honours_the_limit():
    alice, bob, carol = UserFactory(username="alice"), UserFactory(username="bob"), UserFactory(username="carol")
    GenerationFactory(owner=alice, credits=Decimal("5"))
    GenerationFactory(owner=bob, credits=Decimal("20"))
    GenerationFactory(owner=carol, credits=Decimal("5"))
    GenerationFactory(owner=carol, failed=True, credits=Decimal("5"))

    top = reports.top_users(30, limit=2)

    assert [(u.username, u.jobs, u.credits) for u in top] == [("bob", 1, Decimal("20")), ("carol", 2, Decimal("5"))]


def test_totals_sum_the_window():
    GenerationFactory(succeeded=True, credits=Decimal("2"), video_seconds=4)
    GenerationFactory(failed=True, credits=Decimal("2"), video_seconds=4)

    totals = reports.totals(30)

    assert (totals["jobs"], totals["succeeded"], totals["failed"], totals["credits"], totals["video_seconds"]) == (
        2, 1, 1, Decimal("2"), 4)


# --------------------------------------------------------------------------- charts


def parse(svg: str) -> ElementTree.Element:
    return ElementTree.fromstring(svg)


NS = "{http://www.w3.org/2000/svg}"


def test_stacked_bar_chart_is_well_formed_accessible_svg_with_a_legend():
    labels = ["2025-03-01", "2025-03-02", "2025-03-03"]
    svg = charts.stacked_bar_chart(labels, {"Veo3": [1, 2, 0], "Luma-Ray2": [0, 1, 3]}, title="Jobs per day")

    root = parse(svg)
    assert root.tag == f"{NS}svg"
    assert root.get("role") == "img"
    assert root.find(f"{NS}title").text == "Jobs per day"
    assert "series: Veo3, Luma-Ray2" in root.find(f"{NS}desc").text
    bars = [rect for rect in root.iter(f"{NS}rect") if rect.find(f"{NS}title") is not None]
    assert len(bars) == 4  # zero values draw nothing
    assert any("Luma-Ray2: 3" in bar.find(f"{NS}title").text for bar in bars)
    texts = [t.text for t in root.iter(f"{NS}text")]
    assert "Mar 1" in texts and "Mar 3" in texts  # short date labels on the x axis
    assert "Veo3" in texts and "Luma-Ray2" in texts  # the legend


def test_charts_escape_labels_and_titles():
    svg = charts.stacked_bar_chart(["<b>day</b>"], {"<script>alert(1)</script>": [2]}, title="A & <B>")
    hbar = charts.bar_chart([("Team <img src=x onerror=alert(1)>", 3)], title="Credits", unit="credits")

    assert "<script>" not in svg and "<b>" not in svg and "<B>" not in svg
    assert "&lt;script&gt;" in svg
    assert "<img" not in hbar
    parse(svg), parse(hbar)


def test_chart_ids_are_unique_so_two_charts_can_share_a_page():
    first = charts.bar_chart([("a", 1)], title="One")
    second = charts.bar_chart([("a", 1)], title="Two")

    ids = re.findall(r'<title id="([^"]+)"', first + second)
    assert len(ids) == len(set(ids)) == 2


def test_bar_chart_with_dates_draws_vertical_bars_and_without_data_says_so():
    svg = charts.bar_chart([("2025-03-01", 0), ("2025-03-02", 0)], title="Credits per day", unit="credits")

    assert "No data for this period." in svg
    assert not list(parse(svg).iter(f"{NS}rect"))


def test_horizontal_bar_chart_scales_bars_to_the_largest_value():
    root = parse(charts.bar_chart([("Blue", Decimal("30")), ("Red", 15)], title="Credits per team"))

    widths = [float(r.get("width")) for r in root.iter(f"{NS}rect")]
    assert widths[0] == pytest.approx(2 * widths[1])


def test_stacked_bar_chart_refuses_series_of_the_wrong_length():
    with pytest.raises(ValueError):
        charts.stacked_bar_chart(["a", "b"], {"x": [1]}, title="T")


def test_axis_ticks_are_round_numbers():
    root = parse(charts.stacked_bar_chart(["a", "b"], {"x": [7, 33]}, title="T"))
    ticks = [t.text for t in root.iter(f"{NS}text") if t.get("text-anchor") == "end"]

    assert ticks[:5] == ["0", "10", "20", "30", "40"]
