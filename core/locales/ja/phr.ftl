# 利用者が読むメッセージ（日本語）。キーは core/locales/<言語>/phr.ftl で共通。

## 成長曲線
chart-title = { $measure }（{ $sex }）{ $reference } 0〜{ $months }か月
chart-desc = { $count }回の測定。最新は{ $age }か月で{ $value } { $unit }{ $percentile }。曲線は{ $curves }の3・10・25・50・75・90・97パーセンタイル。
chart-desc-percentile = （{ $percentile }パーセンタイル）
chart-desc-empty = 測定はまだありません。曲線は{ $curves }の3・10・25・50・75・90・97パーセンタイル。
chart-x-axis = 月齢（か月）
chart-title-length = { $measure }（{ $sex }）{ $reference } { $from }〜{ $to } cm
chart-desc-length = { $count }回の測定。最新は身長{ $length } cmで体重{ $value } { $unit }{ $percentile }。曲線は{ $curves }の3・10・25・50・75・90・97パーセンタイル。
chart-x-axis-length = 身長（cm、寝かせて測定）
chart-x-axis-height = 身長（cm、立って測定）
chart-corrected-note = 早産のため修正月齢で表示しています
chart-reference-who2006 = WHO 成長基準
chart-reference-japan2000 = 日本人小児の体格基準（2000年）
chart-curves-who2006 = WHO 成長基準
chart-curves-japan2000 = 日本人小児の体格基準（2000年、日本小児内分泌学会）
sex-male = 男の子
sex-female = 女の子
measure-weight-for-age = 体重
measure-length-height-for-age = 身長
measure-head-circumference-for-age = 頭囲
measure-bmi-for-age = BMI
measure-weight-for-length = 2歳未満の身長別体重
measure-weight-for-height = 2〜5歳の身長別体重

## 次の予定
due-child-checkup-title = { $name }
due-child-checkup-body = { $from }〜{ $to }に受けましょう。場所と日時は市区町村のお知らせを確認してください。
due-prenatal-title = 妊婦健診（{ $week }週）
due-prenatal-body = { $from }〜{ $to }に受けましょう（23週までは4週ごと、24週からは2週ごと、36週からは毎週）。
due-immunization-title = { $vaccine }（{ $dose }回目）
due-immunization-body = { $from }から接種できます。
due-immunization-overdue-body = { $from }から標準的な接種期間を過ぎています。まだ接種できます。かかりつけ医に相談してください。
checkup-month_1 = 1か月児健診
checkup-months_3_4 = 3〜4か月児健診
checkup-months_6_7 = 6〜7か月児健診
checkup-months_9_10 = 9〜10か月児健診
checkup-months_18 = 1歳6か月児健診
checkup-years_3 = 3歳児健診
checkup-other = 健診
vaccine-hepatitis_b = B型肝炎
vaccine-rotavirus_rotarix = ロタウイルス（1価）
vaccine-rotavirus_rotateq = ロタウイルス（5価）
vaccine-dpt_ipv_hib = 5種混合
vaccine-dpt_ipv = 4種混合
vaccine-pcv15 = 小児用肺炎球菌（15価）
vaccine-pcv20 = 小児用肺炎球菌（20価）
vaccine-bcg = BCG
vaccine-mr = MR（麻しん風しん混合）
vaccine-measles = 麻しん
vaccine-rubella = 風しん
vaccine-varicella = 水痘
vaccine-japanese_encephalitis = 日本脳炎
vaccine-dt = 2種混合（DT）
vaccine-hpv = HPV
vaccine-influenza = インフルエンザ
vaccine-mumps = おたふくかぜ
vaccine-covid19 = 新型コロナウイルス
vaccine-other = その他

## 自治体からのお知らせ
notice-for-everyone = すべてのご家庭へ
notice-for-pregnancy = 妊娠{ $week }週の方へ
notice-for-child = { $months }か月のお子さんがいる方へ
notices-title = お住まいの自治体からのお知らせ
notice-from = { $municipality }から
notice-valid-until = { $date }まで
notice-read-more = 詳しく見る
notices-empty = 今、ご家庭へのお知らせはありません。
notices-offline = 最新のお知らせを取得できませんでした。前回取得したお知らせを表示しています。
notices-follow = 自治体をフォローする
notices-unfollow = フォローをやめる
