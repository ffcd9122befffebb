# Messages people read, English. Keys are shared by every language file in
# core/locales/<language>/phr.ftl; a test checks each file has every key.

## Growth chart
chart-title = { $measure } ({ $sex }) — { $reference }, 0–{ $months } months
chart-desc = { $count } measurements. The latest, at { $age } months, is { $value } { $unit }{ $percentile }. Curves: 3rd, 10th, 25th, 50th, 75th, 90th and 97th percentiles of { $curves }.
chart-desc-percentile = { " " }({ $percentile }th percentile)
chart-desc-empty = No measurements yet. Curves: 3rd, 10th, 25th, 50th, 75th, 90th and 97th percentiles of { $curves }.
chart-x-axis = Age (months)
chart-title-length = { $measure } ({ $sex }) — { $reference }, { $from }–{ $to } cm
chart-desc-length = { $count } measurements. The latest is { $value } { $unit } at { $length } cm{ $percentile }. Curves: 3rd, 10th, 25th, 50th, 75th, 90th and 97th percentiles of { $curves }.
chart-x-axis-length = Length (cm, lying down)
chart-x-axis-height = Height (cm, standing)
chart-corrected-note = Plotted at corrected age (born preterm)
chart-reference-who2006 = WHO standards
chart-reference-japan2000 = Japanese 2000 growth reference
chart-curves-who2006 = the WHO Child Growth Standards
chart-curves-japan2000 = the Japanese 2000 growth reference (Japanese Society for Pediatric Endocrinology)
sex-male = boys
sex-female = girls
measure-weight-for-age = Weight-for-age
measure-length-height-for-age = Length/height-for-age
measure-head-circumference-for-age = Head circumference-for-age
measure-bmi-for-age = BMI-for-age
measure-weight-for-length = Weight-for-length
measure-weight-for-height = Weight-for-height

## What is due next
due-child-checkup-title = { $name }
due-child-checkup-body = Due between { $from } and { $to }. Your city's notice says where and when.
due-prenatal-title = Prenatal checkup (week { $week })
due-prenatal-body = Due between { $from } and { $to }: every 4 weeks to week 23, every 2 weeks from week 24, weekly from week 36.
due-immunization-title = { $vaccine } (dose { $dose })
due-immunization-body = Can be given from { $from }.
due-immunization-overdue-body = Past its usual window since { $from }; it can still be given. Ask your clinic.
checkup-month_1 = 1-month checkup
checkup-months_3_4 = 3–4-month checkup
checkup-months_6_7 = 6–7-month checkup
checkup-months_9_10 = 9–10-month checkup
checkup-months_18 = 18-month checkup
checkup-years_3 = 3-year checkup
checkup-other = Checkup
vaccine-hepatitis_b = Hepatitis B
vaccine-rotavirus_rotarix = Rotavirus (monovalent)
vaccine-rotavirus_rotateq = Rotavirus (pentavalent)
vaccine-dpt_ipv_hib = DPT-IPV-Hib (5-in-1)
vaccine-dpt_ipv = DPT-IPV (4-in-1)
vaccine-pcv15 = Pneumococcal conjugate (PCV15)
vaccine-pcv20 = Pneumococcal conjugate (PCV20)
vaccine-bcg = BCG
vaccine-mr = MR (measles-rubella)
vaccine-measles = Measles
vaccine-rubella = Rubella
vaccine-varicella = Varicella
vaccine-japanese_encephalitis = Japanese encephalitis
vaccine-dt = DT
vaccine-hpv = HPV
vaccine-influenza = Influenza
vaccine-mumps = Mumps
vaccine-covid19 = COVID-19
vaccine-other = Other vaccine

## Municipal notices
notice-for-everyone = For every family
notice-for-pregnancy = For mothers at { $week } weeks of pregnancy
notice-for-child = For children aged { $months } months
notices-title = Notices from your city
notice-from = From { $municipality }
notice-valid-until = Until { $date }
notice-read-more = Read more
notices-empty = No notices for your family right now.
notices-offline = Could not fetch the latest notices; showing the ones fetched before.
notices-follow = Follow a municipality
notices-unfollow = Stop following
