# Messages people read, English. Keys are shared by every language file in
# core/locales/<language>/phr.ftl; a test checks each file has every key.

## Growth chart
chart-title = { $measure } ({ $sex }) — WHO standards, 0–{ $months } months
chart-desc = { $count } measurements. The latest, at { $age } months, is { $value } { $unit }{ $percentile }. Curves: 3rd, 10th, 25th, 50th, 75th, 90th and 97th percentiles of the WHO Child Growth Standards.
chart-desc-percentile = { " " }({ $percentile }th percentile)
chart-desc-empty = No measurements yet. Curves: 3rd, 10th, 25th, 50th, 75th, 90th and 97th percentiles of the WHO Child Growth Standards.
chart-x-axis = Age (months)
chart-corrected-note = Plotted at corrected age (born preterm)
sex-male = boys
sex-female = girls
measure-weight-for-age = Weight-for-age
measure-length-height-for-age = Length/height-for-age
measure-head-circumference-for-age = Head circumference-for-age
measure-bmi-for-age = BMI-for-age
