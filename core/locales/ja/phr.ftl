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

## 妊婦健診のグラフ（prenatal::chart_svg）
prenatal-chart-title-blood-pressure = 妊娠中の血圧
prenatal-chart-title-weight-gain = 妊娠中の体重増加
prenatal-chart-title-fundal-height = 妊娠中の子宮底長
prenatal-chart-x-axis = 妊娠週数（週）
prenatal-chart-y-axis-blood-pressure = 血圧（mmHg）
prenatal-chart-y-axis-weight-gain = 妊娠前からの体重増加（kg）
prenatal-chart-y-axis-fundal-height = 子宮底長（cm）
prenatal-chart-empty = 測定はまだありません
prenatal-chart-desc = { $count }回の測定。最新は妊娠{ $weeks }週{ $days }日で{ $value }。{ $note }
prenatal-chart-desc-empty = 測定はまだありません。{ $note }
prenatal-chart-legend-systolic = 収縮期血圧
prenatal-chart-legend-diastolic = 拡張期血圧
prenatal-chart-threshold-systolic = 収縮期 140 mmHg
prenatal-chart-threshold-diastolic = 拡張期 90 mmHg
prenatal-chart-note-blood-pressure = 丸は収縮期血圧、四角は拡張期血圧。破線は妊娠高血圧症候群の基準（日本産科婦人科学会）の収縮期 140 mmHg と拡張期 90 mmHg。
prenatal-chart-note-weight-gain = 0 の線が妊娠前の体重です。妊娠中の体重増加の目安（日本産科婦人科学会 2021年、厚生労働省の指針が採用）は、妊娠前のBMIが18.5未満で12〜15 kg、18.5以上25未満で10〜13 kg、25以上30未満で7〜10 kg、30以上は個別対応（上限5 kgまでが目安）。目安の曲線は描いていません。
prenatal-chart-note-fundal-height = 網かけはマクドナルド法の目安で、妊娠20〜36週の子宮底長（cm）≈ 妊娠週数 ± 3。おおまかな臨床の目安で、基準曲線ではありません。
prenatal-chart-band-fundal-height = マクドナルド法：週数 ± 3 cm

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

## データの区分（RecordKind::label）
module-mother_profile = 母の基本情報
module-pregnancy = 妊娠
module-prenatal_visit = 妊婦健診
module-delivery = 出産
module-newborn = 出生時の状態
module-child_checkup = 乳幼児健診
module-development = 発達
module-immunization = 予防接種
module-medication = お薬
module-self_vitals = 自己測定
module-subject_identifiers = 識別番号
module-allergy = アレルギー
module-condition = 病気・既往歴

## 母の基本情報の項目（item_label）
item-mother_profile-name_kanji = 氏名
item-mother_profile-name_kana = ふりがな
item-mother_profile-birth_date = 生年月日
item-mother_profile-identifiers = 識別番号
item-mother_profile-identifiers-system = 発行元（システム）
item-mother_profile-identifiers-value = 番号
item-mother_profile-height = 身長
item-mother_profile-pre_pregnancy_weight = 妊娠前の体重
item-mother_profile-abo = ABO血液型
item-mother_profile-rh_d = Rh(D)血液型
item-mother_profile-irregular_antibodies = 不規則抗体
item-mother_profile-gravida = 妊娠回数
item-mother_profile-parity = 出産回数
item-mother_profile-previous_caesareans = 帝王切開の回数
item-mother_profile-smoking = 喫煙
item-mother_profile-alcohol = 飲酒
item-mother_profile-bmi = 妊娠前のBMI

## 妊娠の項目
item-pregnancy-last_menstrual_period = 最終月経開始日
item-pregnancy-estimated_delivery_date = 出産予定日
item-pregnancy-number_of_fetuses = 胎児数
item-pregnancy-status = 妊娠の状態
item-pregnancy-outcome_date = 妊娠が終了した日

## 妊婦健診の項目
item-prenatal_visit-visit_date = 健診日
item-prenatal_visit-clinic_name = 医療機関名
item-prenatal_visit-clinic_id = 医療機関コード
item-prenatal_visit-gestational_age = 妊娠週数
item-prenatal_visit-body_weight = 体重
item-prenatal_visit-blood_pressure = 血圧
item-prenatal_visit-blood_pressure-systolic = 最高血圧（収縮期）
item-prenatal_visit-blood_pressure-diastolic = 最低血圧（拡張期）
item-prenatal_visit-fundal_height = 子宮底長
item-prenatal_visit-abdominal_girth = 腹囲
item-prenatal_visit-edema = 浮腫
item-prenatal_visit-urine_protein = 尿蛋白
item-prenatal_visit-urine_glucose = 尿糖
item-prenatal_visit-fetal_heart_rate = 胎児心拍数
item-prenatal_visit-fetal_presentation = 胎位
item-prenatal_visit-labs = 血液検査
item-prenatal_visit-labs-hemoglobin = ヘモグロビン
item-prenatal_visit-labs-hematocrit = ヘマトクリット
item-prenatal_visit-labs-platelets = 血小板数
item-prenatal_visit-infection_screens = 感染症等の検査
item-prenatal_visit-infection_screens-hbs_ag = B型肝炎抗原（HBs抗原）
item-prenatal_visit-infection_screens-hcv_antibody = C型肝炎抗体（HCV抗体）
item-prenatal_visit-infection_screens-rubella_antibody = 風しん抗体
item-prenatal_visit-infection_screens-htlv1_antibody = HTLV-1抗体
item-prenatal_visit-infection_screens-gbs = B群溶血性レンサ球菌（GBS）
item-prenatal_visit-infection_screens-cervical_cytology = 子宮頸がん検診（細胞診）
item-prenatal_visit-hypertensive_disorder = 妊娠高血圧症候群
item-prenatal_visit-gestational_diabetes = 妊娠糖尿病
item-prenatal_visit-dental = 歯科健診
item-prenatal_visit-dental-caries_count = 未処置のむし歯の数
item-prenatal_visit-dental-calculus = 歯石
item-prenatal_visit-dental-gingivitis = 歯肉炎
item-prenatal_visit-note = 特記事項

## 出産の項目
item-delivery-delivered_at = 出産日時
item-delivery-gestational_age = 妊娠期間
item-delivery-method = 分娩方法
item-delivery-labour_duration = 分娩所要時間
item-delivery-blood_loss = 出血量
item-delivery-transfusion = 輸血の有無
item-delivery-number_of_babies = 出生児数

## 出生時の状態の項目
item-newborn-sex = 性別
item-newborn-birth_date = 生年月日
item-newborn-birth_weight = 出生時の体重
item-newborn-birth_length = 出生時の身長
item-newborn-head_circumference = 頭囲
item-newborn-chest_circumference = 胸囲
item-newborn-apgar = アプガースコア
item-newborn-apgar-one_minute = アプガースコア（1分後）
item-newborn-apgar-five_minute = アプガースコア（5分後）
item-newborn-apgar-ten_minute = アプガースコア（10分後）
item-newborn-hearing_screen = 新生児聴覚検査
item-newborn-metabolic_screen = 先天性代謝異常等検査
item-newborn-vitamin_k_doses = ビタミンK2シロップの投与

## 乳幼児健診の項目
item-child_checkup-date = 健診日
item-child_checkup-checkup_type = 健診の種類
item-child_checkup-facility = 施設名
item-child_checkup-weight = 体重
item-child_checkup-length = 身長
item-child_checkup-length_position = 身長の測り方
item-child_checkup-head_circumference = 頭囲
item-child_checkup-chest_circumference = 胸囲
item-child_checkup-growth_scores = 発育の評価
item-child_checkup-growth_scores-indicator = 指標
item-child_checkup-growth_scores-percentile = パーセンタイル
item-child_checkup-growth_scores-z_score = Zスコア
item-child_checkup-findings = 診察所見
item-child_checkup-findings-head_control = 首のすわり
item-child_checkup-findings-eye_tracking = 追視
item-child_checkup-findings-strabismus = 斜視
item-child_checkup-findings-hearing = 聴覚
item-child_checkup-findings-heart_murmur = 心雑音
item-child_checkup-findings-hip_abduction_limit = 股関節開排制限
item-child_checkup-findings-undescended_testis = 停留精巣
item-child_checkup-findings-naevus = 母斑
item-child_checkup-findings-signs_of_maltreatment = 不適切な養育の兆候
item-child_checkup-overall_judgement = 総合判定
item-child_checkup-three_year = 3歳児健診の検査
item-child_checkup-three_year-urine_protein = 尿蛋白
item-child_checkup-three_year-urine_blood = 尿潜血
item-child_checkup-three_year-vision = 視力検査
item-child_checkup-three_year-hearing = 聴力検査
item-child_checkup-note = 特記事項
item-child_checkup-kaup_index = カウプ指数

## 発達の項目
item-development-milestone = 発達の項目
item-development-achieved = 回答
item-development-answered_on = 回答した日
item-development-achieved_on = できるようになった日
item-development-note = メモ

## 予防接種の項目
item-immunization-vaccine = ワクチンの種類
item-immunization-vaccine_name = ワクチン名
item-immunization-hot9_code = HOT9コード
item-immunization-yj_code = YJコード
item-immunization-routine = 定期接種
item-immunization-date_given = 接種年月日
item-immunization-dose_number = 接種回数
item-immunization-series = 接種区分
item-immunization-lot_number = ロット番号
item-immunization-manufacturer = メーカー
item-immunization-site = 接種部位
item-immunization-performer = 接種者
item-immunization-location = 接種場所
item-immunization-next_due_date = 次回接種予定日

## お薬の項目
item-medication-dispensed_on = 調剤日
item-medication-pharmacy = 薬局
item-medication-prescriber = 処方した医療機関
item-medication-drug_name = 薬品名
item-medication-drug_code = 薬品コード
item-medication-drug_code-system = コードの種類
item-medication-drug_code-code = コード
item-medication-dose = 用量
item-medication-directions = 用法
item-medication-days_supplied = 日数
item-medication-source = 記録元
item-medication-dose_unit = 単位
item-medication-taken_until = 服用終了日
item-medication-pharmacist = 薬剤師
item-medication-prescribing_doctor = 処方医
item-medication-dispensing_id = 調剤の識別子
item-medication-notes = 注意・補足
item-medication-notes-kind = 種類
item-medication-notes-text = 内容
item-medication-notes-date = 日付
item-medication-notes-code = 区分コード
item-medication-jahis_records = JAHISの元の記録

## 自己測定の項目
item-self_vitals-measured_at = 測定日時
item-self_vitals-blood_pressure = 血圧
item-self_vitals-blood_pressure-systolic = 最高血圧（収縮期）
item-self_vitals-blood_pressure-diastolic = 最低血圧（拡張期）
item-self_vitals-weight = 体重
item-self_vitals-body_temperature = 体温
item-self_vitals-heart_rate = 脈拍数
item-self_vitals-spo2 = 血中酸素飽和度（SpO2）
item-self_vitals-blood_glucose = 血糖値
item-self_vitals-steps = 歩数

## 識別番号の項目
item-subject_identifiers-identifiers = 識別番号
item-subject_identifiers-identifiers-system = 発行元（システム）
item-subject_identifiers-identifiers-value = 番号

## アレルギーの項目
item-allergy-category = 原因の種類
item-allergy-substance = 原因物質
item-allergy-food = 食物
item-allergy-drug_code = 薬品コード
item-allergy-drug_code-system = コードの種類
item-allergy-drug_code-code = コード
item-allergy-allergy_type = アレルギー・不耐症の別
item-allergy-clinical_status = 現在の状態
item-allergy-verification = 確からしさ
item-allergy-criticality = 重い反応のおそれ
item-allergy-reactions = 症状
item-allergy-reaction_text = その他の症状
item-allergy-severity = 症状の重さ
item-allergy-onset = 初めて気づいた日
item-allergy-last_reaction = 最後に症状が出た日
item-allergy-note = メモ

## 病気・既往歴の項目
item-condition-code = 病名
item-condition-text = 病名（記載のとおり）
item-condition-icd10 = ICD-10コード
item-condition-clinical_status = 現在の状態
item-condition-onset = 発症日
item-condition-abatement = 治癒・軽快した日
item-condition-note = メモ

## コード：母の基本情報・出生時の状態
code-sex-male = 男
code-sex-female = 女
code-sex-other = その他
code-sex-unknown = 不明
code-abo_group-a = A型
code-abo_group-b = B型
code-abo_group-o = O型
code-abo_group-ab = AB型
code-rh_d-positive = Rh(D)陽性
code-rh_d-negative = Rh(D)陰性
code-antibody_screen-negative = 陰性
code-antibody_screen-positive = 陽性
code-substance_use-never = なし
code-substance_use-former = 妊娠前にやめた
code-substance_use-stopped_for_pregnancy = 妊娠がわかってやめた
code-substance_use-current = 現在もあり

## コード：妊娠・妊婦健診
code-pregnancy_status-ongoing = 妊娠中
code-pregnancy_status-live_birth = 出産（生児）
code-pregnancy_status-stillbirth = 死産
code-pregnancy_status-miscarriage = 流産
code-pregnancy_status-termination = 人工妊娠中絶
code-pregnancy_status-unknown = 不明
code-edema-negative = −（なし）
code-edema-one_plus = +（軽度）
code-edema-two_plus = ++（高度）
code-urine_strip-negative = −（陰性）
code-urine_strip-trace = ±
code-urine_strip-one_plus = +
code-urine_strip-two_plus = ++
code-urine_strip-three_plus = +++
code-fetal_presentation-cephalic = 頭位
code-fetal_presentation-breech = 骨盤位（逆子）
code-fetal_presentation-transverse = 横位
code-fetal_presentation-oblique = 斜位
code-screen_result-negative = 陰性
code-screen_result-positive = 陽性
code-screen_result-indeterminate = 判定保留
code-rubella_immunity-non_immune = 免疫なし（HI 8倍未満）
code-rubella_immunity-low_titer = 低い（HI 8〜16倍）
code-rubella_immunity-immune = 免疫あり（HI 32倍以上）
code-cervical_cytology-nilm = NILM（異常なし）
code-cervical_cytology-asc_us = ASC-US（意義不明な異型扁平上皮細胞）
code-cervical_cytology-asc_h = ASC-H（HSILを除外できない異型扁平上皮細胞）
code-cervical_cytology-lsil = LSIL（軽度扁平上皮内病変）
code-cervical_cytology-hsil = HSIL（高度扁平上皮内病変）
code-cervical_cytology-scc = SCC（扁平上皮癌）
code-cervical_cytology-agc = AGC（異型腺細胞）
code-cervical_cytology-ais = AIS（上皮内腺癌）
code-cervical_cytology-adenocarcinoma = 腺癌
code-cervical_cytology-other = その他の悪性腫瘍

## コード：出産・出生時の状態
code-delivery_category-vaginal = 経腟分娩
code-delivery_category-assisted = 器械分娩（吸引・鉗子）
code-delivery_category-caesarean = 帝王切開
code-delivery_method-vaginal = 経腟分娩
code-delivery_method-assisted_vacuum = 吸引分娩
code-delivery_method-assisted_forceps = 鉗子分娩
code-delivery_method-caesarean = 帝王切開
code-hearing_screen-pass = パス
code-hearing_screen-refer = 要再検
code-hearing_screen-not_done = 未実施
code-metabolic_screen-normal = 異常なし
code-metabolic_screen-abnormal = 要精密検査
code-metabolic_screen-pending = 結果待ち
code-metabolic_screen-not_done = 未実施

## コード：乳幼児健診（健診の種類は上の checkup-*）
code-measurement_position-recumbent = 寝かせて測定
code-measurement_position-standing = 立って測定
code-growth_indicator-weight_for_age = 年齢別体重
code-growth_indicator-length_for_age = 年齢別身長
code-growth_indicator-head_circumference_for_age = 年齢別頭囲
code-growth_indicator-weight_for_length = 身長別体重
code-finding_result-no_finding = 異常なし
code-finding_result-finding = 所見あり
code-finding_result-follow_up = 経過観察
code-finding_result-not_examined = 未実施
code-finding_item-head_control = 首のすわり
code-finding_item-eye_tracking = 追視
code-finding_item-strabismus = 斜視
code-finding_item-hearing = 聴覚
code-finding_item-heart_murmur = 心雑音
code-finding_item-hip_abduction_limit = 股関節開排制限
code-finding_item-undescended_testis = 停留精巣
code-finding_item-naevus = 母斑
code-finding_item-signs_of_maltreatment = 不適切な養育の兆候
code-overall_judgement-no_findings = 異常なし
code-overall_judgement-follow_up = 経過観察
code-overall_judgement-refer_for_detailed_exam = 要精密検査
code-screening_result-pass = 異常なし
code-screening_result-refer = 要精密検査
code-screening_result-unable_to_test = 検査できず
code-screening_result-not_done = 未実施

## コード：発達（保護者の記録）
code-milestone-social_smile = あやすとよく笑う
code-milestone-head_control = 首がすわる
code-milestone-turns_to_voice = 見えない方向から声をかけると、そちらを向く
code-milestone-rolling_over = 寝返りをする
code-milestone-sitting = ひとりすわりをする
code-milestone-reaches_for_toy = そばのおもちゃに手をのばしてつかむ
code-milestone-crawling = はいはいをする
code-milestone-pulling_to_stand = つかまり立ちをする
code-milestone-pincer_grasp = 親指と人さし指で小さな物をつまむ
code-milestone-walking = ひとり歩きをする
code-milestone-first_words = ママ、ブーブーなど意味のあることばをいくつか話す
code-milestone-drinks_from_cup = 自分でコップを持って水を飲む
code-milestone-running = 走る
code-milestone-two_word_sentences = 2語文（ワンワンキタなど）を話す
code-milestone-says_own_name = 自分の名前が言える
code-milestone-climbs_stairs = 手を使わずに階段をのぼる
code-milestone-draws_circle = クレヨンなどで丸（円）を書く
code-achieved-yes = はい
code-achieved-no = いいえ
code-achieved-unsure = わからない

## コード：予防接種（ワクチンは上の vaccine-*）
code-dose_series-primary = 初回
code-dose_series-first_term = 1期
code-dose_series-second_term = 2期
code-dose_series-booster = 追加
code-injection_site-left_upper_arm = 左上腕
code-injection_site-right_upper_arm = 右上腕
code-injection_site-left_thigh = 左大腿
code-injection_site-right_thigh = 右大腿
code-injection_site-other = その他の部位

## コード：お薬
code-drug_code_system-yj = YJコード
code-drug_code_system-hot = HOTコード
code-drug_code_system-receipt = レセプト電算処理システム用コード
code-drug_code_system-mhlw = 薬価基準収載医薬品コード
code-drug_code_system-local = 独自コード
code-medication_source-dispensed = 調剤
code-medication_source-otc = 市販薬
code-medication_source-patient_entered = 本人・家族が記入
code-medication_note_kind-drug_supplement = 薬品補足
code-medication_note_kind-drug_caution = 薬品服用注意
code-medication_note_kind-directions_supplement = 用法補足
code-medication_note_kind-prescription_caution = 処方服用注意
code-medication_note_kind-caution = 服用注意
code-medication_note_kind-provided_information = 医療機関等提供情報
code-medication_note_kind-remaining_drugs = 残薬確認
code-medication_note_kind-remark = 備考
code-medication_note_kind-patient_entry = 患者等記入

## コード：アレルギー
code-allergy_category-food = 食物
code-allergy_category-medication = 医薬品
code-allergy_category-environment = 環境（花粉・ほこり・動物・ラテックスなど）
code-allergy_category-biologic = 生物由来製品（血液製剤・ワクチンの成分など）
code-food_allergen-egg = 卵
code-food_allergen-milk = 乳
code-food_allergen-wheat = 小麦
code-food_allergen-buckwheat = そば
code-food_allergen-peanut = 落花生
code-food_allergen-shrimp = えび
code-food_allergen-crab = かに
code-food_allergen-walnut = くるみ
code-food_allergen-soybean = 大豆
code-food_allergen-sesame = ごま
code-food_allergen-salmon = さけ
code-food_allergen-salmon_roe = いくら
code-food_allergen-kiwi = キウイフルーツ
code-food_allergen-other = その他
code-allergy_type-allergy = アレルギー
code-allergy_type-intolerance = 不耐症
code-manifestation-urticaria = じんましん
code-manifestation-anaphylaxis = アナフィラキシー
code-manifestation-wheeze = ぜん鳴
code-manifestation-vomiting = 嘔吐
code-manifestation-diarrhoea = 下痢
code-reaction_severity-mild = 軽症
code-reaction_severity-moderate = 中等症
code-reaction_severity-severe = 重症
code-criticality-low = 低い
code-criticality-high = 高い
code-criticality-unable-to-assess = 評価できない
code-allergy_clinical_status-active = 現在あり
code-allergy_clinical_status-inactive = 現在は問題なし
code-allergy_clinical_status-resolved = 治った（耐性獲得）
code-allergy_verification-unconfirmed = 疑い
code-allergy_verification-confirmed = 確定
code-allergy_verification-refuted = 否定された

## コード：病気・既往歴
code-condition_code-gestational_hypertension = 妊娠高血圧症
code-condition_code-preeclampsia = 妊娠高血圧腎症
code-condition_code-hellp = HELLP症候群
code-condition_code-chronic_hypertension = 高血圧合併妊娠
code-condition_code-gestational_diabetes = 妊娠糖尿病
code-condition_code-preexisting_diabetes = 糖尿病（妊娠前から）
code-condition_code-thyroid_disease = 甲状腺の病気
code-condition_code-epilepsy = てんかん
code-condition_code-asthma = ぜん息
code-condition_code-heart_disease = 心臓病
code-condition_code-other = その他の病気
code-condition_clinical_status-active = 現在あり
code-condition_clinical_status-remission = 寛解
code-condition_clinical_status-resolved = 治癒
code-condition_clinical_status-inactive = 現在は問題なし

## 同意：だれが何を見られるか（ConsentGrant::summary_in）。文は下の部品から
## 組み立てます。$scope は、区分か対象者がない同意で "empty"、ほかは "some"。
consent-summary = { $scope ->
        [empty] { $grantee }（{ $purpose }）が閲覧できる記録はありません{ $revoked }
       *[some] { $grantee }（{ $purpose }）は、{ $subjects }の{ $modules }{ $records }を{ $period }{ $access }{ $revoked }
    }
consent-purpose-treatment = 診療
consent-purpose-emergency = 救急
consent-purpose-research = 研究
consent-access-read = 閲覧できます
consent-access-read-write = 閲覧・記録できます
consent-modules-none = 記録なし
consent-modules-all = すべての記録
consent-modules-list = { $list }の記録
consent-module-mother_profile = { module-mother_profile }
consent-module-pregnancy = { module-pregnancy }
consent-module-prenatal_visit = { module-prenatal_visit }
consent-module-delivery = { module-delivery }
consent-module-newborn = { module-newborn }
consent-module-child_checkup = { module-child_checkup }
consent-module-development = { module-development }
consent-module-immunization = { module-immunization }
consent-module-medication = { module-medication }
consent-module-self_vitals = { module-self_vitals }
consent-module-subject_identifiers = { module-subject_identifiers }
consent-module-allergy = { module-allergy }
consent-module-condition = { module-condition }
consent-subjects = { $mother ->
        [yes] { $children ->
            [0] 母
           *[other] 母と子ども{ $children }人
        }
       *[no] { $children ->
            [0] 対象者なし
           *[other] 子ども{ $children }人
        }
    }
consent-records-from = （{ $from }以降の日付のもの）
consent-records-to = （{ $to }までの日付のもの）
consent-records-between = （{ $from }〜{ $to }の日付のもの）
consent-period-open = 期限なく
consent-period-from = { $from }から期限なく
consent-period-until = { $to }まで
consent-period-between = { $from }から{ $to }まで
consent-revoked = （{ $date }に撤回）

## 列挙：「a、b、c」
list-join = { $first }、{ $next }
list-join-last = { $first }、{ $last }

## 医療者ポータル (server/templates/portal/, server/src/http/portal_patients.rs)
portal-nav-label = ポータル
portal-nav-patients = 患者
portal-sign-out = サインアウト
portal-patients-title = 患者をさがす
portal-patients-consented = { $count }人の患者が記録を共有しています。
portal-search-label = ご家族が共有した識別子（母子健康手帳番号・自治体の子ども番号・診察券番号）
portal-search = 検索
portal-search-invalid = 1〜64文字の識別子を入力してください。
portal-search-none = 記録を共有している患者に、この識別子の方はいません。
portal-search-results = この識別子の患者
portal-patient-name = 氏名
portal-patient-kind = 区分
portal-patient-mother = 母
portal-patient-child = 子
portal-patient-birth-date = 生年月日
portal-patient-sex = 性別
portal-patient-identifier = 識別子
portal-patient-identifiers = 識別子
portal-patient-unnamed = （氏名は共有されていません）
portal-print = 概要を印刷
portal-enter = { $module }を入力
portal-saved = 保存しました：{ $module }。ご家族の端末には次の同期で届きます。
portal-growth = 発育
portal-growth-none = 発育曲線には出生時の記録（生年月日・性別）が必要ですが、共有されていません。
portal-checkups = 健診
portal-none-shared = 共有された記録はありません。
portal-date = 日付
portal-checkup = 健診
portal-age-months = 月齢
portal-weight-kg = 体重 (kg)
portal-length-cm = 身長 (cm)
portal-head-cm = 頭囲 (cm)
portal-judgement = 判定
portal-immunizations = 予防接種
portal-immunizations-none = 予防接種の状況には出生時の記録（生年月日）が必要ですが、共有されていません。
portal-vaccine = ワクチン
portal-dose = 回数
portal-status = 状況
portal-dose-done = { $date } 接種済み
portal-dose-due = 接種時期（{ $date }まで）
portal-dose-overdue = { $date }から期間超過
portal-dose-upcoming = { $date }から接種時期
portal-dose-not-applicable = 対象外
portal-milestones = 発達の記録
portal-milestone = 項目
portal-answer = 回答
portal-prenatal = 妊娠経過
portal-medications = 服用中の薬
portal-medications-none = 共有された服用中の薬はありません。
portal-drug = 薬品名
portal-dose-text = 用量
portal-directions = 用法
portal-dispensed = 調剤日
portal-until = 終了予定
portal-timeline = 記録の一覧
portal-record = 記録
portal-back-to-patient = 患者のページへ戻る
portal-form-not-saved = 保存されませんでした。印のついた項目を直してください。
portal-save = 保存
portal-nav-upload = 結果の一括登録
portal-upload-title = 健診・接種の結果を一括登録
portal-upload-intro = 見出し行のあるCSVファイル：identifier列でご家族が共有した識別子により子ども（または母）を指定し、ほかの列はフォームの項目です。プレビューを確認して登録するまで何も保存されず、登録は全行か、0行かのどちらかです。
portal-upload-form = 登録する結果
portal-upload-encoding = 文字コード
portal-upload-encoding-auto = 自動（UTF-8 または Shift_JIS）
portal-upload-file = CSVファイル
portal-upload-preview = プレビュー
portal-upload-templates = テンプレート（見出し行）
portal-upload-preview-title = 登録内容のプレビュー
portal-upload-report-title = 登録しました
portal-upload-summary-ok = { $rows }行すべてを登録できます。
portal-upload-summary-problems = { $problems }行に問題があります。何も保存されていません。ファイルを直して、もう一度アップロードしてください。
portal-upload-summary-stored = { $rows }件を登録しました。ご家族の端末には次の同期で届きます。
portal-upload-rows = 行
portal-upload-row = 行番号
portal-upload-patient = 患者
portal-upload-result = 結果
portal-upload-ok = 登録可能
portal-upload-stored = 登録済み
portal-upload-commit = 全行を登録
portal-upload-again = 別のファイルをアップロード
portal-nav-emergency = 救急（ブレークグラス）
portal-emergency-title = 救急サマリー（ブレークグラス）
portal-emergency-intro = 救急時に、この識別子を登録し救急時の閲覧を許可したご家族の患者サマリーを表示します。すべての閲覧はあなたの氏名と理由とともに記録され、ご家族に通知されます。
portal-emergency-system = 識別子の種類（system）
portal-emergency-value = 識別子（母子健康手帳番号・カード番号）
portal-emergency-reason = 救急閲覧の理由（必須）
portal-emergency-open = 救急サマリーを開く
portal-emergency-opened = ブレークグラスで開きました。ご家族に通知され、この閲覧はあなたの氏名と理由とともにご家族の記録に残ります。
portal-nav-staff = スタッフ
portal-staff-title = 所属スタッフ
portal-staff-members = スタッフ一覧
portal-staff-role = 役割
portal-staff-enabled = 有効
portal-staff-disabled = 無効
portal-staff-actions = 操作
portal-staff-disable = 無効にする
portal-staff-reinvite = 招待し直す
portal-staff-invite = スタッフを招待
portal-staff-make-admin = 管理者（スタッフを管理する）
portal-staff-link = この1回限りのリンクをスタッフに送ってください（72時間有効・表示は今回のみ）。以前のリンクは使えなくなりました。
