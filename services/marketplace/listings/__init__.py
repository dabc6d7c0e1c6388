"""Technology achievements (科技成果) and demands (技术需求): publish, review, browse, import."""
