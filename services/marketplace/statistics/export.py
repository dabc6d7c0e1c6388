"""A year's statistics as an .xlsx workbook: a summary, one sheet per breakdown, the months and the indicators.

Amounts are exact: 元 are written as ``Decimal(fen) / 100`` (the cell holds the decimal text, not a float's
rounding), and the summary adds the integer fen and the 万元 text of kit/money.py.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from services.marketplace.kit.money import FEN_PER_YUAN, format_wan
from services.marketplace.kit.timeutil import to_shanghai
from services.marketplace.statistics import labels
from services.marketplace.statistics.indicators import Progress
from services.marketplace.statistics.queries import Figure, RegionYear, SideFigures

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
YUAN_FORMAT = "#,##0.00"
COUNT_FORMAT = "#,##0"
HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DDE6F4")
TITLE_FONT = Font(bold=True, size=14)

SIDES = (("exported", "输出"), ("absorbed", "吸纳"), ("gross", "吸纳和输出合计"), ("union", "去重"))
SIDE_NOTES = {
    "exported": "卖方在区域内",
    "absorbed": "买方在区域内",
    "gross": "官方口径：吸纳 + 输出，双方均在区域内的合同两边各计一次",
    "union": "至少一方在区域内的合同，每份只计一次",
}
# Each side of these counts under its own party's value, so a per-value 去重 has no meaning there.
BREAKDOWN_NOTES = {
    "district": "输出按卖方所在区县、吸纳按买方所在区县计；不计去重",
    "counterpart": "输出看买方所在地、吸纳看卖方所在地；不计去重",
}
SHEET_NAMES = {"month": "月份", "summary": "汇总", "indicators": "指标"}


def yuan(fen: int) -> Decimal:
    """Exact 元 from integer fen."""
    return Decimal(fen) / FEN_PER_YUAN


def _side(sides: SideFigures, side: str) -> Figure:
    figure: Figure = getattr(sides, side)
    return figure


def _header(sheet: Worksheet, row: Sequence[str]) -> None:
    sheet.append(list(row))
    for cell in sheet[sheet.max_row]:
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)


def _widths(sheet: Worksheet, widths: Iterable[int]) -> None:
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width


def _figure_cells(figure: Figure) -> list[object]:
    return [figure.contract_count, yuan(figure.contract_amount_fen), yuan(figure.technology_amount_fen)]


def _format_figure_columns(sheet: Worksheet, first_column: int, sides: int, first_row: int) -> None:
    for row in sheet.iter_rows(min_row=first_row, min_col=first_column, max_col=first_column + 3 * sides - 1):
        for offset, cell in enumerate(row):
            cell.number_format = COUNT_FORMAT if offset % 3 == 0 else YUAN_FORMAT


def _title(sheet: Worksheet, text: str, note: str) -> None:
    sheet.append([text])
    sheet[sheet.max_row][0].font = TITLE_FONT
    sheet.append([note])


def _summary(sheet: Worksheet, figures: RegionYear, region_name: str, achievements: int, at: datetime) -> None:
    sheet.title = SHEET_NAMES["summary"]
    _title(
        sheet,
        f"{region_name}（{figures.scope}）{figures.year} 年技术合同登记统计",
        f"按登记日期（北京时间）计入年度；导出时间 {to_shanghai(at):%Y-%m-%d %H:%M}；数据来源："
        + ("汇总表" if figures.source == "rollup" else "合同明细计算"),
    )
    sheet.append([])
    _header(
        sheet,
        [
            "口径",
            "说明",
            "合同数（项）",
            "合同成交额（元）",
            "技术交易额（元）",
            "合同成交额（分）",
            "技术交易额（分）",
            "合同成交额（万元）",
        ],
    )
    first = sheet.max_row + 1
    for side, heading in SIDES:
        figure = _side(figures.totals, side)
        sheet.append(
            [
                heading,
                SIDE_NOTES[side],
                *_figure_cells(figure),
                figure.contract_amount_fen,
                figure.technology_amount_fen,
                format_wan(figure.contract_amount_fen),
            ]
        )
    _format_figure_columns(sheet, 3, 1, first)
    for row in sheet.iter_rows(min_row=first, min_col=6, max_col=7):
        for cell in row:
            cell.number_format = "0"
    sheet.append([])
    sheet.append(["科技成果转化（项）", "本年登记合同涉及的不同科技成果", achievements])
    sheet.append(["就地转化（项）", "全部", figures.local_conversion.get("all", 0)])
    sheet.append(["就地转化（项）", "其中来自高等院校和科研机构", figures.local_conversion.get("academic", 0)])
    _widths(sheet, (22, 44, 14, 22, 22, 20, 20, 20))


def _breakdown_rows(figures: RegionYear, dimension: str) -> list[tuple[str, str, SideFigures]]:
    values = figures.breakdowns.get(dimension, {})
    known = {} if dimension == "district" else labels.value_names(dimension, figures.scope)
    codes = list(known) + sorted(code for code in values if code not in known)
    rows = [
        (code, labels.value_name(dimension, code, figures.scope), values.get(code, SideFigures())) for code in codes
    ]
    return sorted(rows, key=lambda row: -row[2].gross.contract_amount_fen)


def _side_headings(sides: Sequence[tuple[str, str]]) -> list[str]:
    return [
        f"{heading}{suffix}" for _, heading in sides for suffix in ("合同数（项）", "成交额（元）", "技术交易额（元）")
    ]


def _breakdown(sheet: Worksheet, figures: RegionYear, dimension: str) -> None:
    sheet.title = labels.DIMENSIONS[dimension]
    sides = SIDES[:3] if dimension in BREAKDOWN_NOTES else SIDES
    _title(sheet, f"{figures.year} 年 按{labels.DIMENSIONS[dimension]}", BREAKDOWN_NOTES.get(dimension, ""))
    _header(sheet, ["代码", labels.DIMENSIONS[dimension], *_side_headings(sides)])
    first = sheet.max_row + 1
    for code, name, values in _breakdown_rows(figures, dimension):
        sheet.append([code, name, *[cell for side, _ in sides for cell in _figure_cells(_side(values, side))]])
    sheet.append(["", "合计", *[cell for side, _ in sides for cell in _figure_cells(_side(figures.totals, side))]])
    for cell in sheet[sheet.max_row]:
        cell.font = HEADER_FONT
    _format_figure_columns(sheet, 3, len(sides), first)
    _widths(sheet, (16, 20, *[14, 20, 20] * len(sides)))
    sheet.freeze_panes = f"C{first}"


def _months(sheet: Worksheet, figures: RegionYear) -> None:
    sheet.title = SHEET_NAMES["month"]
    _title(sheet, f"{figures.year} 年 按月份", "按登记日期（北京时间）的月份")
    _header(sheet, ["月份", "", *_side_headings(SIDES)])
    first = sheet.max_row + 1
    for month in range(1, 13):
        values = figures.months.get(month, SideFigures())
        sheet.append([month, f"{month}月", *[cell for side, _ in SIDES for cell in _figure_cells(_side(values, side))]])
    sheet.append(["", "合计", *[cell for side, _ in SIDES for cell in _figure_cells(_side(figures.totals, side))]])
    for cell in sheet[sheet.max_row]:
        cell.font = HEADER_FONT
    _format_figure_columns(sheet, 3, len(SIDES), first)
    _widths(sheet, (8, 10, *[14, 20, 20] * len(SIDES)))
    sheet.freeze_panes = f"C{first}"


def _indicators(sheet: Worksheet, progress: Sequence[Progress], year: int) -> None:
    sheet.title = SHEET_NAMES["indicators"]
    _title(sheet, f"{year} 年 规划指标进展（合肥市）", "平台可计算的指标来自登记合同；其他指标为官员录入的数值及其来源")
    _header(
        sheet,
        [
            "代码",
            "指标",
            "单位",
            "本年值",
            "来源",
            "目标",
            "目标年份",
            "规划期",
            "完成（%）",
            "同比增长（%）",
            "需年均增长（%）",
            "全年预计",
        ],
    )
    for item in progress:
        sheet.append(
            [
                item.code,
                item.name,
                item.unit,
                item.value,
                item.source,
                item.target,
                item.target_year,
                item.plan_period,
                item.percent_of_target,
                item.growth_on_previous_year,
                item.required_annual_growth,
                item.projection,
            ]
        )
    _widths(sheet, (32, 44, 10, 14, 24, 12, 10, 10, 12, 14, 16, 14))


def statistics_workbook(
    figures: RegionYear, region_name: str, achievements: int, progress: Sequence[Progress], at: datetime
) -> bytes:
    workbook = Workbook()
    summary = workbook.active
    assert summary is not None
    _summary(summary, figures, region_name, achievements, at)
    for dimension in labels.DIMENSIONS:
        _breakdown(workbook.create_sheet(), figures, dimension)
    _months(workbook.create_sheet(), figures)
    _indicators(workbook.create_sheet(), progress, figures.year)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
