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

## Prenatal chart (prenatal::chart_svg)
prenatal-chart-title-blood-pressure = Blood pressure during pregnancy
prenatal-chart-title-weight-gain = Weight gain during pregnancy
prenatal-chart-title-fundal-height = Fundal height during pregnancy
prenatal-chart-x-axis = Gestational age (weeks)
prenatal-chart-y-axis-blood-pressure = Blood pressure (mmHg)
prenatal-chart-y-axis-weight-gain = Weight gain since before pregnancy (kg)
prenatal-chart-y-axis-fundal-height = Fundal height (cm)
prenatal-chart-empty = No measurements yet
prenatal-chart-desc = { $count ->
        [one] One measurement
       *[other] { $count } measurements
    }. The latest, at { $weeks }+{ $days } weeks, is { $value }. { $note }
prenatal-chart-desc-empty = No measurements yet. { $note }
prenatal-chart-legend-systolic = Systolic
prenatal-chart-legend-diastolic = Diastolic
prenatal-chart-threshold-systolic = 140 mmHg (systolic)
prenatal-chart-threshold-diastolic = 90 mmHg (diastolic)
prenatal-chart-note-blood-pressure = Circles: systolic; squares: diastolic. Dashed lines: 140 mmHg systolic and 90 mmHg diastolic, the thresholds of hypertensive disorders of pregnancy (Japan Society of Obstetrics and Gynecology).
prenatal-chart-note-weight-gain = The line at 0 is the weight before pregnancy. Recommended total gain by the end of pregnancy, by BMI before pregnancy (Japan Society of Obstetrics and Gynecology 2021, adopted by the Ministry of Health, Labour and Welfare): under 18.5, 12–15 kg; 18.5 to under 25, 10–13 kg; 25 to under 30, 7–10 kg; 30 or more, decided individually (up to about 5 kg). No recommended curve is drawn.
prenatal-chart-note-fundal-height = Shaded band: McDonald's rule, fundal height in cm ≈ gestational age in weeks ± 3, from 20 to 36 weeks; a rough clinical rule, not a reference curve.
prenatal-chart-band-fundal-height = McDonald's rule: weeks ± 3 cm

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

## Dataset modules (RecordKind::label)
module-mother_profile = Mother's profile
module-pregnancy = Pregnancy
module-prenatal_visit = Prenatal checkup
module-delivery = Delivery
module-newborn = Newborn
module-child_checkup = Child health checkup
module-development = Development
module-immunization = Immunization
module-medication = Medication
module-self_vitals = Self-measured vitals
module-subject_identifiers = Identifiers
module-allergy = Allergy
module-condition = Condition

## Items of the mother's profile (item_label)
item-mother_profile-name_kanji = Name
item-mother_profile-name_kana = Name in kana
item-mother_profile-birth_date = Date of birth
item-mother_profile-identifiers = Identifiers
item-mother_profile-identifiers-system = Issued by (system)
item-mother_profile-identifiers-value = Number
item-mother_profile-height = Height
item-mother_profile-pre_pregnancy_weight = Weight before pregnancy
item-mother_profile-abo = ABO blood group
item-mother_profile-rh_d = Rh(D) type
item-mother_profile-irregular_antibodies = Irregular antibodies
item-mother_profile-gravida = Number of pregnancies (gravida)
item-mother_profile-parity = Number of births (parity)
item-mother_profile-previous_caesareans = Previous caesarean sections
item-mother_profile-smoking = Smoking
item-mother_profile-alcohol = Alcohol
item-mother_profile-bmi = BMI before pregnancy

## Items of a pregnancy
item-pregnancy-last_menstrual_period = First day of last menstrual period
item-pregnancy-estimated_delivery_date = Due date
item-pregnancy-number_of_fetuses = Number of fetuses
item-pregnancy-status = Status
item-pregnancy-outcome_date = Date the pregnancy ended

## Items of a prenatal checkup
item-prenatal_visit-visit_date = Checkup date
item-prenatal_visit-clinic_name = Clinic
item-prenatal_visit-clinic_id = Clinic code
item-prenatal_visit-gestational_age = Gestational age
item-prenatal_visit-body_weight = Weight
item-prenatal_visit-blood_pressure = Blood pressure
item-prenatal_visit-blood_pressure-systolic = Systolic blood pressure
item-prenatal_visit-blood_pressure-diastolic = Diastolic blood pressure
item-prenatal_visit-fundal_height = Fundal height
item-prenatal_visit-abdominal_girth = Abdominal girth
item-prenatal_visit-edema = Edema
item-prenatal_visit-urine_protein = Urine protein
item-prenatal_visit-urine_glucose = Urine glucose
item-prenatal_visit-fetal_heart_rate = Fetal heart rate
item-prenatal_visit-fetal_presentation = Fetal presentation
item-prenatal_visit-labs = Blood tests
item-prenatal_visit-labs-hemoglobin = Hemoglobin
item-prenatal_visit-labs-hematocrit = Hematocrit
item-prenatal_visit-labs-platelets = Platelet count
item-prenatal_visit-infection_screens = Infection screening
item-prenatal_visit-infection_screens-hbs_ag = Hepatitis B surface antigen (HBsAg)
item-prenatal_visit-infection_screens-hcv_antibody = Hepatitis C antibody
item-prenatal_visit-infection_screens-rubella_antibody = Rubella antibody
item-prenatal_visit-infection_screens-htlv1_antibody = HTLV-1 antibody
item-prenatal_visit-infection_screens-gbs = Group B streptococcus (GBS)
item-prenatal_visit-infection_screens-cervical_cytology = Cervical cytology
item-prenatal_visit-hypertensive_disorder = Hypertensive disorder of pregnancy
item-prenatal_visit-gestational_diabetes = Gestational diabetes
item-prenatal_visit-dental = Dental checkup
item-prenatal_visit-dental-caries_count = Untreated decayed teeth
item-prenatal_visit-dental-calculus = Calculus (tartar)
item-prenatal_visit-dental-gingivitis = Gingivitis
item-prenatal_visit-note = Note

## Items of a delivery
item-delivery-delivered_at = Date and time of birth
item-delivery-gestational_age = Gestational age at birth
item-delivery-method = Delivery method
item-delivery-labour_duration = Duration of labour
item-delivery-blood_loss = Blood loss
item-delivery-transfusion = Blood transfusion
item-delivery-number_of_babies = Number of babies

## Items of the newborn
item-newborn-sex = Sex
item-newborn-birth_date = Date of birth
item-newborn-birth_weight = Birth weight
item-newborn-birth_length = Birth length
item-newborn-head_circumference = Head circumference
item-newborn-chest_circumference = Chest circumference
item-newborn-apgar = Apgar score
item-newborn-apgar-one_minute = Apgar score at 1 minute
item-newborn-apgar-five_minute = Apgar score at 5 minutes
item-newborn-apgar-ten_minute = Apgar score at 10 minutes
item-newborn-hearing_screen = Newborn hearing screening
item-newborn-metabolic_screen = Newborn metabolic screening
item-newborn-vitamin_k_doses = Vitamin K doses

## Items of a child health checkup
item-child_checkup-date = Checkup date
item-child_checkup-checkup_type = Checkup
item-child_checkup-facility = Facility
item-child_checkup-weight = Weight
item-child_checkup-length = Length or height
item-child_checkup-length_position = How length was measured
item-child_checkup-head_circumference = Head circumference
item-child_checkup-chest_circumference = Chest circumference
item-child_checkup-growth_scores = Growth scores
item-child_checkup-growth_scores-indicator = Indicator
item-child_checkup-growth_scores-percentile = Percentile
item-child_checkup-growth_scores-z_score = z-score
item-child_checkup-findings = Physician's findings
item-child_checkup-findings-head_control = Head control
item-child_checkup-findings-eye_tracking = Eye tracking
item-child_checkup-findings-strabismus = Strabismus
item-child_checkup-findings-hearing = Hearing
item-child_checkup-findings-heart_murmur = Heart murmur
item-child_checkup-findings-hip_abduction_limit = Limited hip abduction
item-child_checkup-findings-undescended_testis = Undescended testis
item-child_checkup-findings-naevus = Naevus (birthmark)
item-child_checkup-findings-signs_of_maltreatment = Signs of maltreatment
item-child_checkup-overall_judgement = Overall judgement
item-child_checkup-three_year = 3-year checkup tests
item-child_checkup-three_year-urine_protein = Urine protein
item-child_checkup-three_year-urine_blood = Urine occult blood
item-child_checkup-three_year-vision = Vision screening
item-child_checkup-three_year-hearing = Hearing screening
item-child_checkup-note = Note
item-child_checkup-kaup_index = Kaup index

## Items of a developmental milestone
item-development-milestone = Milestone
item-development-achieved = Answer
item-development-answered_on = Answered on
item-development-achieved_on = Achieved on
item-development-note = Note

## Items of an immunization
item-immunization-vaccine = Vaccine
item-immunization-vaccine_name = Vaccine name
item-immunization-hot9_code = HOT9 code
item-immunization-yj_code = YJ code
item-immunization-routine = Routine immunization
item-immunization-date_given = Date given
item-immunization-dose_number = Dose number
item-immunization-series = Series
item-immunization-lot_number = Lot number
item-immunization-manufacturer = Manufacturer
item-immunization-site = Injection site
item-immunization-performer = Given by
item-immunization-location = Place
item-immunization-next_due_date = Next dose due

## Items of a medication
item-medication-dispensed_on = Date dispensed
item-medication-pharmacy = Pharmacy
item-medication-prescriber = Prescribed by
item-medication-drug_name = Drug
item-medication-drug_code = Drug code
item-medication-drug_code-system = Code system
item-medication-drug_code-code = Code
item-medication-dose = Dose
item-medication-directions = Directions
item-medication-days_supplied = Days supplied
item-medication-source = Source
item-medication-dose_unit = Unit
item-medication-taken_until = Taken until
item-medication-pharmacist = Pharmacist
item-medication-prescribing_doctor = Prescribing doctor
item-medication-dispensing_id = Dispensing ID
item-medication-notes = Notes
item-medication-notes-kind = Kind of note
item-medication-notes-text = Text
item-medication-notes-date = Date
item-medication-notes-code = Code
item-medication-jahis_records = Original JAHIS records

## Items of self-measured vitals
item-self_vitals-measured_at = Measured at
item-self_vitals-blood_pressure = Blood pressure
item-self_vitals-blood_pressure-systolic = Systolic blood pressure
item-self_vitals-blood_pressure-diastolic = Diastolic blood pressure
item-self_vitals-weight = Weight
item-self_vitals-body_temperature = Body temperature
item-self_vitals-heart_rate = Pulse rate
item-self_vitals-spo2 = Oxygen saturation (SpO2)
item-self_vitals-blood_glucose = Blood glucose
item-self_vitals-steps = Steps

## Items of a subject's identifiers
item-subject_identifiers-identifiers = Identifiers
item-subject_identifiers-identifiers-system = Issued by (system)
item-subject_identifiers-identifiers-value = Number

## Items of an allergy
item-allergy-category = Kind of substance
item-allergy-substance = Substance
item-allergy-food = Food
item-allergy-drug_code = Drug code
item-allergy-drug_code-system = Code system
item-allergy-drug_code-code = Code
item-allergy-allergy_type = Allergy or intolerance
item-allergy-clinical_status = Clinical status
item-allergy-verification = Verification
item-allergy-criticality = Risk of a severe reaction
item-allergy-reactions = Reactions
item-allergy-reaction_text = Other reactions
item-allergy-severity = Severity of the reactions
item-allergy-onset = First noticed
item-allergy-last_reaction = Last reaction
item-allergy-note = Note

## Items of a condition
item-condition-code = Condition
item-condition-text = Name as written
item-condition-icd10 = ICD-10 code
item-condition-clinical_status = Clinical status
item-condition-onset = Onset
item-condition-abatement = Ended
item-condition-note = Note

## Codes: the mother's profile and the newborn
code-sex-male = Male
code-sex-female = Female
code-sex-other = Other
code-sex-unknown = Unknown
code-abo_group-a = A
code-abo_group-b = B
code-abo_group-o = O
code-abo_group-ab = AB
code-rh_d-positive = Rh(D) positive
code-rh_d-negative = Rh(D) negative
code-antibody_screen-negative = Negative
code-antibody_screen-positive = Positive
code-substance_use-never = Never
code-substance_use-former = Stopped before this pregnancy
code-substance_use-stopped_for_pregnancy = Stopped on learning of the pregnancy
code-substance_use-current = Current

## Codes: pregnancy and prenatal checkups
code-pregnancy_status-ongoing = Ongoing
code-pregnancy_status-live_birth = Live birth
code-pregnancy_status-stillbirth = Stillbirth
code-pregnancy_status-miscarriage = Miscarriage
code-pregnancy_status-termination = Termination of pregnancy
code-pregnancy_status-unknown = Unknown
code-edema-negative = − (none)
code-edema-one_plus = + (mild)
code-edema-two_plus = ++ (marked)
code-urine_strip-negative = − (negative)
code-urine_strip-trace = ± (trace)
code-urine_strip-one_plus = +
code-urine_strip-two_plus = ++
code-urine_strip-three_plus = +++
code-fetal_presentation-cephalic = Cephalic (head first)
code-fetal_presentation-breech = Breech
code-fetal_presentation-transverse = Transverse lie
code-fetal_presentation-oblique = Oblique lie
code-screen_result-negative = Negative
code-screen_result-positive = Positive
code-screen_result-indeterminate = Indeterminate
code-rubella_immunity-non_immune = Not immune (HI below 1:8)
code-rubella_immunity-low_titer = Low titre (HI 1:8–1:16)
code-rubella_immunity-immune = Immune (HI 1:32 or more)
code-cervical_cytology-nilm = NILM (negative for intraepithelial lesion or malignancy)
code-cervical_cytology-asc_us = ASC-US (atypical squamous cells of undetermined significance)
code-cervical_cytology-asc_h = ASC-H (atypical squamous cells, cannot exclude HSIL)
code-cervical_cytology-lsil = LSIL (low-grade squamous intraepithelial lesion)
code-cervical_cytology-hsil = HSIL (high-grade squamous intraepithelial lesion)
code-cervical_cytology-scc = SCC (squamous cell carcinoma)
code-cervical_cytology-agc = AGC (atypical glandular cells)
code-cervical_cytology-ais = AIS (adenocarcinoma in situ)
code-cervical_cytology-adenocarcinoma = Adenocarcinoma
code-cervical_cytology-other = Other malignant neoplasm

## Codes: delivery and newborn
code-delivery_category-vaginal = Vaginal delivery
code-delivery_category-assisted = Assisted (instrumental) delivery
code-delivery_category-caesarean = Caesarean section
code-delivery_method-vaginal = Spontaneous vaginal delivery
code-delivery_method-assisted_vacuum = Vacuum extraction
code-delivery_method-assisted_forceps = Forceps delivery
code-delivery_method-caesarean = Caesarean section
code-hearing_screen-pass = Pass
code-hearing_screen-refer = Refer for retesting
code-hearing_screen-not_done = Not done
code-metabolic_screen-normal = Normal
code-metabolic_screen-abnormal = Abnormal: needs follow-up
code-metabolic_screen-pending = Result pending
code-metabolic_screen-not_done = Not done

## Codes: child health checkups (checkup types are the checkup-* keys above)
code-measurement_position-recumbent = Lying down
code-measurement_position-standing = Standing
code-growth_indicator-weight_for_age = Weight-for-age
code-growth_indicator-length_for_age = Length/height-for-age
code-growth_indicator-head_circumference_for_age = Head circumference-for-age
code-growth_indicator-weight_for_length = Weight-for-length/height
code-finding_result-no_finding = No finding
code-finding_result-finding = Finding
code-finding_result-follow_up = Follow-up
code-finding_result-not_examined = Not examined
code-finding_item-head_control = Head control
code-finding_item-eye_tracking = Eye tracking
code-finding_item-strabismus = Strabismus
code-finding_item-hearing = Hearing
code-finding_item-heart_murmur = Heart murmur
code-finding_item-hip_abduction_limit = Limited hip abduction
code-finding_item-undescended_testis = Undescended testis
code-finding_item-naevus = Naevus (birthmark)
code-finding_item-signs_of_maltreatment = Signs of maltreatment
code-overall_judgement-no_findings = No findings
code-overall_judgement-follow_up = Follow-up
code-overall_judgement-refer_for_detailed_exam = Refer for a detailed examination
code-screening_result-pass = Pass
code-screening_result-refer = Refer for a detailed examination
code-screening_result-unable_to_test = Could not be tested
code-screening_result-not_done = Not done

## Codes: developmental milestones
code-milestone-social_smile = Smiles when played with
code-milestone-head_control = Holds head steady
code-milestone-turns_to_voice = Turns towards a voice from out of sight
code-milestone-rolling_over = Rolls over
code-milestone-sitting = Sits without support
code-milestone-reaches_for_toy = Reaches for and grasps a toy
code-milestone-crawling = Crawls
code-milestone-pulling_to_stand = Pulls to stand
code-milestone-pincer_grasp = Picks up small things between finger and thumb
code-milestone-walking = Walks alone
code-milestone-first_words = Says a few meaningful words
code-milestone-drinks_from_cup = Drinks from a cup held by themself
code-milestone-running = Runs
code-milestone-two_word_sentences = Says two-word sentences
code-milestone-says_own_name = Says their own name
code-milestone-climbs_stairs = Climbs stairs without using hands
code-milestone-draws_circle = Draws a circle with a crayon
code-achieved-yes = Yes
code-achieved-no = No
code-achieved-unsure = Not sure

## Codes: immunization (vaccines are the vaccine-* keys above)
code-dose_series-primary = Primary series
code-dose_series-first_term = Phase 1
code-dose_series-second_term = Phase 2
code-dose_series-booster = Booster
code-injection_site-left_upper_arm = Left upper arm
code-injection_site-right_upper_arm = Right upper arm
code-injection_site-left_thigh = Left thigh
code-injection_site-right_thigh = Right thigh
code-injection_site-other = Other site

## Codes: medication
code-drug_code_system-yj = YJ code
code-drug_code_system-hot = HOT code
code-drug_code_system-receipt = Receipt computer code
code-drug_code_system-mhlw = MHLW drug price list code
code-drug_code_system-local = Local code
code-medication_source-dispensed = Dispensed
code-medication_source-otc = Over the counter
code-medication_source-patient_entered = Entered by the family
code-medication_note_kind-drug_supplement = About this drug
code-medication_note_kind-drug_caution = Caution for this drug
code-medication_note_kind-directions_supplement = More on the directions
code-medication_note_kind-prescription_caution = Caution for this prescription
code-medication_note_kind-caution = Caution
code-medication_note_kind-provided_information = Information from the clinic or pharmacy
code-medication_note_kind-remaining_drugs = Leftover drugs checked
code-medication_note_kind-remark = Remarks
code-medication_note_kind-patient_entry = Written by the patient or family

## Codes: allergy
code-allergy_category-food = Food
code-allergy_category-medication = Drug
code-allergy_category-environment = Environment (pollen, dust, animals, latex)
code-allergy_category-biologic = Biologic (blood products, vaccine components)
code-food_allergen-egg = Egg
code-food_allergen-milk = Milk
code-food_allergen-wheat = Wheat
code-food_allergen-buckwheat = Buckwheat
code-food_allergen-peanut = Peanut
code-food_allergen-shrimp = Shrimp
code-food_allergen-crab = Crab
code-food_allergen-walnut = Walnut
code-food_allergen-soybean = Soybean
code-food_allergen-sesame = Sesame
code-food_allergen-salmon = Salmon
code-food_allergen-salmon_roe = Salmon roe
code-food_allergen-kiwi = Kiwi fruit
code-food_allergen-other = Other food
code-allergy_type-allergy = Allergy
code-allergy_type-intolerance = Intolerance
code-manifestation-urticaria = Hives (urticaria)
code-manifestation-anaphylaxis = Anaphylaxis
code-manifestation-wheeze = Wheeze
code-manifestation-vomiting = Vomiting
code-manifestation-diarrhoea = Diarrhoea
code-reaction_severity-mild = Mild
code-reaction_severity-moderate = Moderate
code-reaction_severity-severe = Severe
code-criticality-low = Low
code-criticality-high = High
code-criticality-unable-to-assess = Unable to assess
code-allergy_clinical_status-active = Active
code-allergy_clinical_status-inactive = Inactive
code-allergy_clinical_status-resolved = Resolved (outgrown)
code-allergy_verification-unconfirmed = Suspected
code-allergy_verification-confirmed = Confirmed
code-allergy_verification-refuted = Ruled out

## Codes: conditions
code-condition_code-gestational_hypertension = Gestational hypertension
code-condition_code-preeclampsia = Preeclampsia
code-condition_code-hellp = HELLP syndrome
code-condition_code-chronic_hypertension = Chronic hypertension
code-condition_code-gestational_diabetes = Gestational diabetes
code-condition_code-preexisting_diabetes = Pre-existing diabetes
code-condition_code-thyroid_disease = Thyroid disease
code-condition_code-epilepsy = Epilepsy
code-condition_code-asthma = Asthma
code-condition_code-heart_disease = Heart disease
code-condition_code-other = Other condition
code-condition_clinical_status-active = Active
code-condition_clinical_status-remission = In remission
code-condition_clinical_status-resolved = Resolved
code-condition_clinical_status-inactive = Inactive

## Consent: who can see what (ConsentGrant::summary_in). The sentence is
## built from the parts below; $scope is "empty" when the grant covers no
## module or nobody, else "some".
consent-summary = { $grantee } ({ $purpose }) can { $access } { $modules } of { $subjects }{ $records }{ $period }{ $revoked }
consent-purpose-treatment = treatment
consent-purpose-emergency = emergency
consent-purpose-research = research
consent-access-read = read
consent-access-read-write = read and write
consent-modules-none = no records
consent-modules-all = all records
consent-modules-list = { $list }
consent-module-mother_profile = profile data
consent-module-pregnancy = pregnancy records
consent-module-prenatal_visit = prenatal visits
consent-module-delivery = delivery records
consent-module-newborn = newborn records
consent-module-child_checkup = child checkups
consent-module-development = development milestones
consent-module-immunization = immunizations
consent-module-medication = medications
consent-module-self_vitals = self-measured vitals
consent-module-subject_identifiers = identifiers
consent-module-allergy = allergies
consent-module-condition = conditions
consent-subjects = { $mother ->
        [yes] { $children ->
            [0] the mother
            [one] the mother and { $children } child
           *[other] the mother and { $children } children
        }
       *[no] { $children ->
            [0] nobody
            [one] { $children } child
           *[other] { $children } children
        }
    }
consent-records-from = { " " }(records dated from { $from })
consent-records-to = { " " }(records dated up to { $to })
consent-records-between = { " " }(records dated { $from } to { $to })
consent-period-open = { " " }with no time limit
consent-period-from = { " " }from { $from }, with no end date
consent-period-until = { " " }until { $to }
consent-period-between = { " " }from { $from } until { $to }
consent-revoked = { " " }(revoked on { $date })

## Lists: "a, b and c"
list-join = { $first }, { $next }
list-join-last = { $first } and { $last }

## Care-team portal (server/templates/portal/, server/src/http/portal_patients.rs)
portal-nav-label = Portal
portal-nav-patients = Patients
portal-sign-out = Sign out
portal-patients-title = Find a patient
portal-patients-consented = { $count ->
    [one] One patient has shared their record with your organization.
   *[other] { $count } patients have shared their records with your organization.
}
portal-search-label = Identifier the family shared (maternal and child handbook number, municipal child number, MRN)
portal-search = Search
portal-search-invalid = Type an identifier of 1–64 characters.
portal-search-none = No patient who shared their record with your organization has this identifier.
portal-search-results = Patients with this identifier
portal-patient-name = Name
portal-patient-kind = Patient
portal-patient-mother = Mother
portal-patient-child = Child
portal-patient-birth-date = Date of birth
portal-patient-sex = Sex
portal-patient-identifier = Identifier
portal-patient-identifiers = Identifiers
portal-patient-unnamed = (name not shared)
portal-print = Print summary
portal-enter = Enter { $module }
portal-saved = Saved: { $module }. The family's phones receive it at their next sync.
portal-growth = Growth
portal-growth-none = The growth charts need the newborn record (birth date and sex), which is not shared.
portal-checkups = Checkups
portal-none-shared = Nothing shared.
portal-date = Date
portal-checkup = Checkup
portal-age-months = Age (months)
portal-weight-kg = Weight (kg)
portal-length-cm = Length/height (cm)
portal-head-cm = Head (cm)
portal-judgement = Judgement
portal-immunizations = Immunizations
portal-immunizations-none = The immunization status needs the newborn record (birth date), which is not shared.
portal-vaccine = Vaccine
portal-dose = Dose
portal-status = Status
portal-dose-done = Done on { $date }
portal-dose-due = Due, by { $date }
portal-dose-overdue = Overdue since { $date }
portal-dose-upcoming = Due from { $date }
portal-dose-not-applicable = Not applicable
portal-milestones = Development milestones
portal-milestone = Milestone
portal-answer = Answer
portal-prenatal = Pregnancy
portal-medications = Current medications
portal-medications-none = No current medication shared.
portal-drug = Drug
portal-dose-text = Dose
portal-directions = Directions
portal-dispensed = Dispensed
portal-until = Until
portal-timeline = Timeline
portal-record = Record
portal-back-to-patient = Back to the patient
portal-form-not-saved = Not saved. Please correct the fields marked below.
portal-save = Save
portal-nav-upload = Upload results
portal-upload-title = Upload a session's results
portal-upload-intro = A CSV file with a header row: the column identifier names each child (or mother) by an identifier the family shared, the other columns are the form's fields. Nothing is stored until you confirm the preview, and then every row or none.
portal-upload-form = Results of
portal-upload-encoding = Encoding
portal-upload-encoding-auto = Automatic (UTF-8 or Shift_JIS)
portal-upload-file = CSV file
portal-upload-preview = Preview
portal-upload-templates = Templates (header rows)
portal-upload-preview-title = Preview of the upload
portal-upload-report-title = Upload stored
portal-upload-summary-ok = { $rows ->
    [one] One row can be stored.
   *[other] All { $rows } rows can be stored.
}
portal-upload-summary-problems = { $problems ->
    [one] One row has a problem. Nothing is stored: correct the file and upload it again.
   *[other] { $problems } rows have problems. Nothing is stored: correct the file and upload it again.
}
portal-upload-summary-stored = { $rows ->
    [one] One record was stored. The families' phones receive it at their next sync.
   *[other] { $rows } records were stored. The families' phones receive them at their next sync.
}
portal-upload-rows = Rows
portal-upload-row = Row
portal-upload-patient = Patient
portal-upload-result = Result
portal-upload-ok = Ready
portal-upload-stored = Stored
portal-upload-commit = Store all rows
portal-upload-again = Upload another file
portal-nav-emergency = Emergency (break-glass)
portal-emergency-title = Emergency summary (break-glass)
portal-emergency-intro = For an emergency: the summary of a patient whose family registered this identifier and allowed emergency access. Every access is recorded with your name and reason, and the family is told.
portal-emergency-system = Identifier system
portal-emergency-value = Identifier (handbook number, card number)
portal-emergency-reason = Reason for the emergency access (required)
portal-emergency-open = Open the emergency summary
portal-emergency-opened = Opened by break-glass. The family has been told; this access is in their log with your name and reason.
portal-nav-staff = Staff
portal-staff-title = Your organization's staff
portal-staff-members = Staff members
portal-staff-role = Role
portal-staff-enabled = Active
portal-staff-disabled = Disabled
portal-staff-actions = Actions
portal-staff-disable = Disable
portal-staff-reinvite = New invite
portal-staff-invite = Invite a staff member
portal-staff-make-admin = Admin (manages the staff)
portal-staff-link = Send this single-use link to the staff member (valid 72 hours; shown only now). Older links of theirs no longer work.
