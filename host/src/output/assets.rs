//! The browser files that both the HTML report (inlined) and the dashboard (served) use,
//! compiled in from `host/web` once.

/// uPlot's minified build, the chart library (see `host/web/README.md`).
pub const UPLOT_JS: &str = include_str!("../../web/vendor/uPlot.iife.min.js");
/// uPlot's stylesheet.
pub const UPLOT_CSS: &str = include_str!("../../web/vendor/uPlot.min.css");
/// Colours, type, badges, tables and charts, under each page's own stylesheet.
pub const BASE_CSS: &str = include_str!("../../web/base.css");
/// The charts over time (`host/web/charts.js`).
pub const CHARTS_JS: &str = include_str!("../../web/charts.js");
