//! The HTML report (`--out html=FILE`, `GET /v1/runs/{id}/report.html`): one self-contained
//! file that opens offline, with the summary and the time series inlined as JSON and drawn
//! in the browser by `host/web/report.js` and `charts.js` with uPlot (`host/web/vendor`,
//! MIT, from npm).
//!
//! Everything the page needs is compiled into the binary (`include_str!`), so neither a
//! build of the host nor opening a report needs Node or the network.

use serde::Serialize;

use super::assets::{BASE_CSS, CHARTS_JS, UPLOT_CSS, UPLOT_JS};

/// The page's own script: reads the inlined data, draws the charts and tables.
const REPORT_JS: &str = include_str!("../../web/report.js");
/// The page's own stylesheet.
const REPORT_CSS: &str = include_str!("../../web/report.css");

/// What the page reads: the end-of-test summary (the `--out json` document) and the
/// per-interval series (the `--out ndjson` lines), as one JSON object.
#[derive(Serialize)]
struct ReportData<'a, S: Serialize, I: Serialize> {
    summary: &'a S,
    series: &'a I,
}

/// The report page of a run: `summary` is its summary document ([`super::Summary`] or the
/// stored JSON of one), `series` its closed intervals.
pub fn html_report(
    summary: &impl Serialize,
    series: &impl Serialize,
) -> serde_json::Result<String> {
    let data = serde_json::to_string(&ReportData { summary, series })?;
    // The data sits in a <script> element: no "</script>" may appear in it. `<` occurs only
    // inside JSON strings, where `\u003c` means the same character.
    let data = data.replace('<', "\\u003c");
    let mut page = String::with_capacity(
        UPLOT_JS.len()
            + UPLOT_CSS.len()
            + BASE_CSS.len()
            + CHARTS_JS.len()
            + REPORT_JS.len()
            + REPORT_CSS.len()
            + data.len()
            + 1024,
    );
    for part in [
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n",
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n",
        // The page runs only its own inlined scripts and reaches nothing, wherever it is
        // opened from: the data in it comes from an untrusted scenario.
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; ",
        "script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data: blob:\">\n",
        "<meta name=\"generator\" content=\"Loadwright ",
        env!("CARGO_PKG_VERSION"),
        "\">\n<title>Loadwright report</title>\n<style>\n",
        UPLOT_CSS,
        "\n",
        BASE_CSS,
        REPORT_CSS,
        "</style>\n</head>\n<body>\n",
        "<main id=\"report\" aria-live=\"polite\"><p>This report needs JavaScript.</p></main>\n",
        "<script type=\"application/json\" id=\"report-data\">",
        &data,
        "</script>\n<script>\n",
        UPLOT_JS,
        "\n</script>\n<script>\n",
        CHARTS_JS,
        "</script>\n<script>\n",
        REPORT_JS,
        "</script>\n</body>\n</html>\n",
    ] {
        page.push_str(part);
    }
    Ok(page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_inlines_its_data_and_scripts_and_no_data_closes_a_script() {
        let summary = serde_json::json!({"scenario": {"name": "</script><b>x</b>"}});
        let series = vec![serde_json::json!({"rps": 1.5})];
        let page = html_report(&summary, &series).unwrap();
        // One opening and one closing tag per script element: data, uPlot, charts, report.
        assert_eq!(page.matches("<script").count(), 4, "{page:.300}");
        assert_eq!(page.matches("</script>").count(), 4);
        let start = page.find("id=\"report-data\">").unwrap() + "id=\"report-data\">".len();
        let end = start + page[start..].find("</script>").unwrap();
        let data: serde_json::Value = serde_json::from_str(&page[start..end]).unwrap();
        assert_eq!(data["summary"], summary);
        assert_eq!(data["series"][0]["rps"], 1.5);
        assert!(page.contains("uPlot"), "the chart library is inlined");
        assert!(!page.contains("src=\"http"), "nothing is fetched");
    }
}
