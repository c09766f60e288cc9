// gan/report.h — the run's HTML report, readable in any browser with no scripts: loss curves (and mode metrics
// for 2-D data) as inline SVG from metrics.jsonl, the sample PNGs over time, the final metrics and the config.
#pragma once
#include <string>
#include <utility>
#include <vector>

namespace ganglion {

// One polyline of an SVG chart.
struct Series {
  std::string label, color;
  std::vector<std::pair<double, double>> points;  // (x, y)
};
// An inline <svg> line chart with axes labels at the extremes and a legend.
std::string svg_line_chart(const std::string& title, const std::vector<Series>& series, int width = 560,
                           int height = 260);
// Escapes &, <, >, " for HTML text.
std::string html_escape(const std::string& s);

// Writes <run_dir>/report.html from config.json, metrics.jsonl, samples/*.png and final.json (each optional);
// returns its path.
std::string write_report(const std::string& run_dir);

}  // namespace ganglion
