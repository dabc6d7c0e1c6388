"""Statistics officials watch: 吸纳 / 输出 technology contract figures, breakdowns, the plan's indicators."""
