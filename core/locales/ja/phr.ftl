# 利用者が読むメッセージ（日本語）。キーは core/locales/<言語>/phr.ftl で共通。

## 成長曲線
chart-title = { $measure }（{ $sex }）WHO 成長基準 0〜{ $months }か月
chart-desc = { $count }回の測定。最新は{ $age }か月で{ $value } { $unit }{ $percentile }。曲線は3・10・25・50・75・90・97パーセンタイル。
chart-desc-percentile = （{ $percentile }パーセンタイル）
chart-desc-empty = 測定はまだありません。曲線は3・10・25・50・75・90・97パーセンタイル。
chart-x-axis = 月齢（か月）
chart-corrected-note = 早産のため修正月齢で表示しています
sex-male = 男の子
sex-female = 女の子
measure-weight-for-age = 体重
measure-length-height-for-age = 身長
measure-head-circumference-for-age = 頭囲
measure-bmi-for-age = BMI
