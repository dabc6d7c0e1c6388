/* The officials' dashboard: reads /v1/statistics/dashboard every 60 s and draws it with Apache ECharts.
 *
 * Amounts arrive as integer fen in decimal strings (contract_amount_fen_text) and are formatted with BigInt,
 * rounding half up like services/marketplace/kit/money.py; floats are used only to draw the charts.
 * Credentials: the login form (access + refresh token in sessionStorage), or ?token= for a kiosk, which may
 * be an access token or a read-scoped API key (tmk_…); it is moved out of the address bar at once.
 */
"use strict";

(() => {
  const REFRESH_SECONDS = 60;
  const FEN_PER_YI = 10000000000n;
  const TOKEN_KEY = "techmarket.dashboard.token";
  const REFRESH_KEY = "techmarket.dashboard.refresh";
  const LABELS = JSON.parse(document.getElementById("dashboard-labels").textContent);
  const COLORS = {
    exported: "#4fc3f7",
    absorbed: "#ffb74d",
    lastYear: "#90a4ae",
    text: "#e8eef9",
    muted: "#9fb0cc",
    grid: "#22304f",
  };
  const FONT = '"Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", sans-serif';
  const BREAKDOWNS = ["contract_type", "counterpart", "field", "district"];
  const store = window.sessionStorage;
  const charts = new Map();
  let nextRefreshAt = 0;
  let loading = false;
  let lastLoadedAt = null;
  let lastData = null;

  // ------------------------------------------------------------------ exact formatting of money and decimals

  function groupThousands(digits) {
    return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  }

  /** Integer fen (a decimal string) in a unit of ``fenPerUnit`` fen, rounded half up to ``places``. */
  function formatFen(fenText, fenPerUnit, places) {
    let fen = BigInt(fenText);
    const negative = fen < 0n;
    if (negative) fen = -fen;
    const scale = 10n ** BigInt(places);
    let scaled = (fen * scale) / fenPerUnit;
    if (2n * ((fen * scale) % fenPerUnit) >= fenPerUnit) scaled += 1n;
    const whole = groupThousands((scaled / scale).toString());
    const text = places > 0 ? `${whole}.${(scaled % scale).toString().padStart(places, "0")}` : whole;
    return negative && scaled !== 0n ? `-${text}` : text;
  }

  const yi = (fenText) => formatFen(fenText, FEN_PER_YI, 2);
  const yiNumber = (fenText) => Number(BigInt(fenText)) / 1e10; // for drawing only

  /** A decimal string from the API ("1200.0000") rounded half up to ``places``, trailing zeros dropped. */
  function formatDecimal(text, places = 2) {
    if (text === null || text === undefined) return "—";
    const match = /^([+-]?)(\d+)(?:\.(\d+))?$/.exec(String(text));
    if (!match) return String(text);
    const [, sign, whole, fraction = ""] = match;
    const padded = fraction.padEnd(places + 1, "0");
    let scaled = BigInt(whole + padded.slice(0, places));
    if (Number(padded[places]) >= 5) scaled += 1n;
    const scale = 10n ** BigInt(places);
    let out = groupThousands((scaled / scale).toString());
    const decimals = (scaled % scale).toString().padStart(places, "0").replace(/0+$/, "");
    if (decimals) out += `.${decimals}`;
    return sign === "-" && scaled !== 0n ? `-${out}` : out;
  }

  function formatSigned(text) {
    if (text === null || text === undefined) return "—";
    const formatted = formatDecimal(text);
    return formatted.startsWith("-") || formatted === "0" ? formatted : `+${formatted}`;
  }

  const count = (value) => groupThousands(String(value));

  // ------------------------------------------------------------------------------------------- credentials

  function takeTokenFromAddress() {
    const url = new URL(window.location.href);
    const token = url.searchParams.get("token");
    if (!token) return;
    store.setItem(TOKEN_KEY, token);
    store.removeItem(REFRESH_KEY);
    url.searchParams.delete("token");
    window.history.replaceState(null, "", url.pathname + url.search + url.hash);
  }

  function authHeaders() {
    const token = store.getItem(TOKEN_KEY);
    if (!token) return null;
    return token.startsWith("tmk_") ? { "X-API-Key": token } : { Authorization: `Bearer ${token}` };
  }

  function keepTokens(answer) {
    store.setItem(TOKEN_KEY, answer.access_token);
    store.setItem(REFRESH_KEY, answer.refresh_token);
  }

  function forgetTokens() {
    store.removeItem(TOKEN_KEY);
    store.removeItem(REFRESH_KEY);
  }

  async function refreshSession() {
    const refreshToken = store.getItem(REFRESH_KEY);
    if (!refreshToken) return false;
    const response = await fetch("/v1/auth/refresh", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ refresh_token: refreshToken }),
    });
    if (!response.ok) return false;
    keepTokens(await response.json());
    return true;
  }

  async function logIn(event) {
    event.preventDefault();
    const form = event.target;
    const error = document.getElementById("login-error");
    error.textContent = "";
    const response = await fetch("/v1/auth/token", {
      method: "POST",
      body: new URLSearchParams({ username: form.username.value, password: form.password.value }),
    });
    if (response.ok) {
      keepTokens(await response.json());
      form.password.value = "";
      await load();
      return;
    }
    error.textContent =
      response.status === 401
        ? "邮箱或密码不正确"
        : response.status === 429
          ? "尝试次数过多，请稍后再试"
          : `登录失败（HTTP ${response.status}）`;
  }

  async function logOut() {
    const refreshToken = store.getItem(REFRESH_KEY);
    forgetTokens();
    showLogin("");
    if (refreshToken) {
      await fetch("/v1/auth/revoke", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ refresh_token: refreshToken }),
      }).catch(() => undefined);
    }
  }

  function showLogin(message) {
    document.getElementById("board").hidden = true;
    document.getElementById("logout").hidden = true;
    document.getElementById("login").hidden = false;
    document.getElementById("login-error").textContent = message;
    document.getElementById("refresh-countdown").textContent = "";
    setStatus("请登录", "login");
  }

  function showBoard() {
    document.getElementById("login").hidden = true;
    document.getElementById("board").hidden = false;
    document.getElementById("logout").hidden = false;
  }

  // ------------------------------------------------------------------------------------------------- data

  function requestedYear() {
    const year = new URL(window.location.href).searchParams.get("year");
    return year && /^\d{4}$/.test(year) ? year : null;
  }

  /** Fetch and draw; false when the caller must log in first. */
  async function fetchDashboard() {
    if (!authHeaders()) {
      showLogin("");
      return false;
    }
    const year = requestedYear();
    const url = `/v1/statistics/dashboard${year ? `?year=${year}` : ""}`;
    let response = await fetch(url, { headers: authHeaders(), cache: "no-store" });
    if (response.status === 401 && (await refreshSession())) {
      response = await fetch(url, { headers: authHeaders(), cache: "no-store" });
    }
    if (response.status === 401 || response.status === 403) {
      forgetTokens();
      showLogin(response.status === 401 ? "登录已过期，请重新登录" : "此账号没有查看统计的权限（需要 official 角色）");
      return false;
    }
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const data = await response.json();
    showBoard();
    lastData = data;
    render(data);
    return true;
  }

  async function load() {
    if (loading) return;
    loading = true;
    try {
      if (await fetchDashboard()) {
        lastLoadedAt = clock();
        setStatus(`数据时间 ${lastLoadedAt}`, "ok");
      }
    } catch (error) {
      setStatus(lastLoadedAt ? `刷新失败，显示的是 ${lastLoadedAt} 的数据` : `无法加载数据（${error.message}）`, "error");
    } finally {
      loading = false;
      nextRefreshAt = Date.now() + REFRESH_SECONDS * 1000;
    }
  }

  function tick() {
    if (loading || !document.getElementById("login").hidden) return;
    const seconds = Math.max(0, Math.ceil((nextRefreshAt - Date.now()) / 1000));
    document.getElementById("refresh-countdown").textContent = `${seconds} 秒后刷新`;
    if (seconds === 0) load();
  }

  function clock() {
    return new Intl.DateTimeFormat("zh-CN", {
      timeZone: "Asia/Shanghai",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
      hour12: false,
    }).format(new Date());
  }

  function shanghaiYearMonth() {
    const parts = new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai", year: "numeric", month: "numeric" })
      .formatToParts(new Date());
    const part = (type) => Number(parts.find((item) => item.type === type).value);
    return [part("year"), part("month")];
  }

  function setStatus(text, state) {
    const status = document.getElementById("status-text");
    status.textContent = text;
    status.dataset.state = state;
  }

  // ------------------------------------------------------------------------------------------- rendering

  function setFigure(name, text, fen) {
    for (const element of document.querySelectorAll(`[data-figure="${name}"]`)) {
      element.textContent = text;
      if (fen !== undefined) element.dataset.fen = fen;
    }
  }

  function chart(element) {
    if (!charts.has(element)) {
      charts.set(element, window.echarts.init(element, null, { renderer: "canvas", locale: "ZH" }));
    }
    return charts.get(element);
  }

  function baseOption() {
    return {
      backgroundColor: "transparent",
      textStyle: { fontFamily: FONT, color: COLORS.text },
      animationDuration: 500,
    };
  }

  function render(data) {
    const hefei = data.hefei;
    const totals = hefei.totals;
    document.getElementById("region-name").textContent = hefei.region_name || LABELS.region_name;
    setFigure("year", `${data.year} 年`);
    for (const side of ["gross", "exported", "absorbed", "union"]) {
      const fen = totals[side].contract_amount_fen_text;
      setFigure(`${side}-amount-yi`, yi(fen), fen);
      setFigure(`${side}-count`, count(totals[side].contract_count));
    }
    setFigure("gross-technology-yi", yi(totals.gross.technology_amount_fen_text), totals.gross.technology_amount_fen_text);
    setFigure("achievements-converted", count(hefei.achievements_converted));
    setFigure("local-conversions", count(hefei.local_conversion.all));
    renderGauge(data.indicators.find((item) => item.code === LABELS.headline_indicator));
    renderMonthly(data);
    for (const dimension of BREAKDOWNS) {
      renderBreakdown(dimension, hefei.breakdowns[dimension] || {});
    }
    renderIndicators(data.indicators, data.year);
  }

  function renderGauge(indicator) {
    const value = indicator ? indicator.value : null;
    const target = indicator ? indicator.target : null;
    const percent = indicator ? indicator.percent_of_target : null;
    setFigure("gauge-value-yi", formatDecimal(value));
    setFigure("gauge-target-yi", formatDecimal(target));
    setFigure("gauge-target-year", indicator && indicator.target_year ? String(indicator.target_year) : "—");
    setFigure("gauge-percent", formatDecimal(percent));
    setFigure("gauge-projection-yi", formatDecimal(indicator ? indicator.projection : null));
    const drawn = Number(value || 0);
    const max = Number(target || 0) || drawn || 1; // against the target: past it the arc stays full
    const gauge = chart(document.getElementById("gauge-chart"));
    // An arc from 200° to -20°: as wide as the box allows, and 1 + sin 20° of its radius tall.
    const radius = Math.max(40, Math.min(gauge.getWidth() / 2 - 8, (gauge.getHeight() - 8) / 1.35));
    const width = Math.round(radius * 0.2);
    gauge.setOption({
      ...baseOption(),
      series: [
        {
          type: "gauge",
          min: 0,
          max,
          startAngle: 200,
          endAngle: -20,
          radius,
          center: ["50%", radius + 6],
          progress: { show: true, width, roundCap: true, itemStyle: { color: COLORS.exported } },
          axisLine: { roundCap: true, lineStyle: { width, color: [[1, COLORS.grid]] } },
          axisTick: { show: false },
          splitLine: { show: false },
          axisLabel: { show: false },
          pointer: { show: false },
          anchor: { show: false },
          title: { show: false },
          detail: {
            offsetCenter: [0, "-8%"],
            fontSize: Math.round(radius * 0.34),
            fontWeight: "bold",
            color: "#ffffff",
            formatter: () => (percent === null ? "—" : `${formatDecimal(percent)}%`),
          },
          data: [{ value: Math.min(drawn, max) }],
        },
      ],
    });
  }

  function cumulative(months, lastMonth) {
    const points = [];
    let sum = 0n;
    for (let month = 1; month <= 12; month += 1) {
      const sides = months[String(month)];
      sum += BigInt(sides ? sides.gross.contract_amount_fen_text : "0");
      points.push(month <= lastMonth ? sum.toString() : null);
    }
    return points;
  }

  function renderMonthly(data) {
    const [thisYear, thisMonth] = shanghaiYearMonth();
    const lastMonth = data.year < thisYear ? 12 : data.year > thisYear ? 0 : thisMonth;
    const current = cumulative(data.hefei.months, lastMonth);
    const previous = cumulative(data.previous_year_months, 12);
    const months = Array.from({ length: 12 }, (_, index) => `${index + 1}月`);
    const point = (fen) => (fen === null ? null : { value: yiNumber(fen), fen });
    const lastIndex = lastMonth - 1;
    chart(document.getElementById("monthly-chart")).setOption({
      ...baseOption(),
      grid: { left: 12, right: 24, top: 44, bottom: 8, containLabel: true },
      legend: {
        data: [`${data.year} 年`, `${data.year - 1} 年`],
        top: 0,
        right: 8,
        textStyle: { color: COLORS.text, fontSize: 16 },
      },
      tooltip: {
        trigger: "axis",
        formatter: (items) =>
          items
            .filter((item) => item.data)
            .map((item) => `${item.marker}${item.seriesName} ${item.name}：${yi(item.data.fen)} 亿元`)
            .join("<br>"),
      },
      xAxis: {
        type: "category",
        data: months,
        boundaryGap: false,
        axisLabel: { color: COLORS.muted, fontSize: 15 },
        axisLine: { lineStyle: { color: COLORS.grid } },
      },
      yAxis: {
        type: "value",
        axisLabel: { color: COLORS.muted, fontSize: 15 },
        splitLine: { lineStyle: { color: COLORS.grid } },
      },
      series: [
        {
          name: `${data.year} 年`,
          type: "line",
          data: current.map(point),
          symbolSize: 8,
          lineStyle: { width: 4, color: COLORS.exported },
          itemStyle: { color: COLORS.exported },
          areaStyle: { color: "rgba(79, 195, 247, 0.15)" },
          label: {
            show: true,
            position: "top",
            fontSize: 18,
            fontWeight: "bold",
            color: "#ffffff",
            formatter: (item) => (item.dataIndex === lastIndex ? yi(item.data.fen) : ""),
          },
        },
        {
          name: `${data.year - 1} 年`,
          type: "line",
          data: previous.map(point),
          symbol: "none",
          lineStyle: { width: 3, type: "dashed", color: COLORS.lastYear },
          itemStyle: { color: COLORS.lastYear },
        },
      ],
    });
    const rows = document.querySelector("#monthly-table tbody");
    rows.replaceChildren(
      ...months.map((label, index) =>
        tableRow({ month: String(index + 1) }, label, [
          ["this-year", current[index] === null ? "" : current[index]],
          ["last-year", previous[index]],
        ]),
      ),
    );
  }

  function tableRow(data, heading, cells) {
    const row = document.createElement("tr");
    Object.assign(row.dataset, data);
    const head = document.createElement("th");
    head.textContent = heading;
    row.append(head);
    for (const [name, text] of cells) {
      const cell = document.createElement("td");
      cell.dataset.side = name;
      cell.textContent = text;
      row.append(cell);
    }
    return row;
  }

  function compareFen(a, b) {
    const left = BigInt(a);
    const right = BigInt(b);
    return left < right ? -1 : left > right ? 1 : 0;
  }

  function renderBreakdown(dimension, values) {
    const block = document.querySelector(`[data-breakdown="${dimension}"]`);
    const names = LABELS.values[dimension] || {};
    const rows = Object.entries(values)
      .map(([code, sides]) => ({
        code,
        name: names[code] || code,
        exported: sides.exported.contract_amount_fen_text,
        absorbed: sides.absorbed.contract_amount_fen_text,
        gross: sides.gross.contract_amount_fen_text,
      }))
      .sort((a, b) => compareFen(b.gross, a.gross) || a.code.localeCompare(b.code));
    const drawn = rows.slice().reverse(); // the largest at the top of a horizontal bar chart
    chart(block.querySelector(".chart")).setOption(
      {
        ...baseOption(),
        grid: { left: 4, right: 70, top: 30, bottom: 4, containLabel: true },
        legend: {
          data: ["输出", "吸纳"],
          top: 0,
          right: 4,
          itemWidth: 14,
          itemHeight: 10,
          textStyle: { color: COLORS.muted, fontSize: 14 },
        },
        xAxis: {
          type: "value",
          axisLabel: { show: false },
          splitLine: { lineStyle: { color: COLORS.grid } },
        },
        yAxis: {
          type: "category",
          data: drawn.map((row) => row.name),
          axisLabel: { color: COLORS.text, fontSize: 16 },
          axisLine: { lineStyle: { color: COLORS.grid } },
          axisTick: { show: false },
        },
        series: [
          {
            name: "输出",
            type: "bar",
            stack: "gross",
            barMaxWidth: 26,
            data: drawn.map((row) => yiNumber(row.exported)),
            itemStyle: { color: COLORS.exported },
          },
          {
            name: "吸纳",
            type: "bar",
            stack: "gross",
            barMaxWidth: 26,
            data: drawn.map((row) => yiNumber(row.absorbed)),
            itemStyle: { color: COLORS.absorbed },
            label: {
              show: true,
              position: "right",
              color: COLORS.text,
              fontSize: 15,
              formatter: (item) => yi(drawn[item.dataIndex].gross),
            },
          },
        ],
      },
      { notMerge: true },
    );
    block.querySelector(".data-table tbody").replaceChildren(
      ...rows.map((row) =>
        tableRow({ value: row.code }, row.name, [
          ["exported", yi(row.exported)],
          ["absorbed", yi(row.absorbed)],
          ["gross", yi(row.gross)],
        ]),
      ),
    );
  }

  function cell(field, raw, text, className) {
    const element = document.createElement("td");
    element.dataset.field = field;
    if (raw !== null && raw !== undefined) element.dataset.raw = String(raw);
    element.textContent = text;
    if (className) element.className = className;
    return element;
  }

  function trend(text) {
    if (text === null || text === undefined) return "";
    return text.startsWith("-") ? "down" : Number(text) > 0 ? "up" : "";
  }

  function renderIndicators(items, year) {
    setFigure("indicator-year", `${year} 年`);
    const rank = (item) => (item.code === LABELS.headline_indicator ? 0 : item.derivable ? 1 : 2);
    const ordered = items.slice().sort((a, b) => rank(a) - rank(b));
    document.getElementById("indicator-rows").replaceChildren(
      ...ordered.map((item) => {
        const row = document.createElement("tr");
        row.dataset.indicator = item.code;
        if (item.derivable) row.className = "derivable";
        const name = document.createElement("td");
        name.textContent = item.name;
        name.title = item.source ? `${item.name}（${item.unit}；来源：${item.source}）` : `${item.name}（${item.unit}）`;
        const unit = document.createElement("span");
        unit.className = "unit";
        unit.textContent = item.unit;
        name.append(unit);
        const value = cell("value", item.value, formatDecimal(item.value));
        const target = cell("target", item.target, formatDecimal(item.target));
        if (item.target_year) target.title = `${item.plan_period || ""} ${item.target_year} 年目标`;
        const percent = cell(
          "percent",
          item.percent_of_target,
          item.percent_of_target === null ? "—" : `${formatDecimal(item.percent_of_target)}%`,
          "progress",
        );
        if (item.percent_of_target !== null) {
          const bar = document.createElement("i");
          bar.style.width = `calc((100% - 0.6rem) * ${Math.min(1, Math.max(0, Number(item.percent_of_target) / 100))})`;
          percent.append(bar);
        }
        const growth = item.growth_on_previous_year;
        row.append(
          name,
          value,
          target,
          percent,
          cell("growth", growth, growth === null ? "—" : `${formatSigned(growth)}%`, trend(growth)),
          cell(
            "required",
            item.required_annual_growth,
            item.required_annual_growth === null ? "—" : `${formatDecimal(item.required_annual_growth)}%`,
          ),
        );
        return row;
      }),
    );
  }

  // ---------------------------------------------------------------------------------------------- start

  function start() {
    if (!window.echarts) {
      setStatus("图表库加载失败", "error");
      return;
    }
    takeTokenFromAddress();
    document.getElementById("login-form").addEventListener("submit", logIn);
    document.getElementById("logout").addEventListener("click", logOut);
    window.addEventListener("resize", () => {
      charts.forEach((instance) => instance.resize());
      if (lastData) render(lastData);
    });
    window.setInterval(tick, 1000);
    load();
  }

  start();
})();
