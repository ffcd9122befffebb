//! Focused serde models of the FHIR R4 resources this service serves and
//! accepts. JSON-compatible with the standard: choice types (`value[x]`,
//! `effective[x]`, ...) are enums keyed by their JSON names, extensions and
//! contained resources are modelled, and every element these models do not know
//! is kept in a flattened `extra` map (in the order sent), so a parse/serialize
//! round trip loses nothing. Decimals keep their exact text ([`Decimal`]).
//!
//! Parse any resource with [`Resource::from_json`] (or serde into [`Resource`]);
//! a concrete struct (`Observation`, ...) can also be parsed on its own. Both
//! write `resourceType` first.

pub mod allergy_intolerance;
pub mod audit_event;
pub mod bundle;
pub mod capability_statement;
pub mod composition;
pub mod condition;
pub mod consent;
pub mod datatypes;
pub mod encounter;
pub mod immunization;
pub mod medication;
pub mod observation;
pub mod operation_outcome;
pub mod organization;
pub mod patient;
pub mod questionnaire_response;
pub mod related_person;
pub mod resource;

pub use allergy_intolerance::*;
pub use audit_event::*;
pub use bundle::*;
pub use capability_statement::*;
pub use composition::*;
pub use condition::*;
pub use consent::*;
pub use datatypes::*;
pub use encounter::*;
pub use immunization::*;
pub use medication::*;
pub use observation::*;
pub use operation_outcome::*;
pub use organization::*;
pub use patient::*;
pub use questionnaire_response::*;
pub use related_person::*;
pub use resource::{Resource, ResourceKind, ResourceType};

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// Minified JSON text with key order and number text exactly as written.
    fn minify(text: &str) -> String {
        serde_json::to_string(&serde_json::from_str::<Value>(text).unwrap()).unwrap()
    }

    /// serialize(parse(x)) == x, byte for byte after removing whitespace.
    fn assert_json_round_trip(text: &str) -> Resource {
        let r = Resource::from_json(text).unwrap();
        assert_eq!(serde_json::to_string(&r).unwrap(), minify(text));
        let via_serde: Resource = serde_json::from_str(text).unwrap();
        assert_eq!(via_serde, r);
        r
    }

    const OBSERVATION: &str = r##"{
      "resourceType": "Observation",
      "id": "body-weight-1",
      "meta": {"versionId": "2", "lastUpdated": "2026-04-02T10:15:00.000+09:00",
               "profile": ["http://jpfhir.jp/fhir/core/StructureDefinition/JP_Observation_BodyWeight"]},
      "text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">62.50 kg</div>"},
      "contained": [
        {"resourceType": "Practitioner", "id": "p1", "name": [{"text": "佐藤 一郎"}]},
        {"resourceType": "Organization", "id": "org1", "name": "さくら産婦人科", "futureOrgElement": [1, 2.50]}
      ],
      "extension": [{"url": "http://example.org/fhir/StructureDefinition/device-note", "valueString": "scale A"}],
      "status": "final",
      "_status": {"extension": [{"url": "http://example.org/fhir/StructureDefinition/status-source",
                                 "valueCode": "device"}]},
      "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                "code": "vital-signs", "display": "Vital Signs"}]}],
      "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7", "display": "Body weight"}],
               "text": "体重"},
      "subject": {"reference": "Patient/pt-1"},
      "effectiveDateTime": "2026-04-02T10:00:00+09:00",
      "performer": [{"reference": "#p1"}, {"reference": "#org1"}],
      "valueQuantity": {"value": 62.50, "unit": "kg", "system": "http://unitsofmeasure.org", "code": "kg"},
      "note": [{"authorString": "看護師", "text": "朝食後"}],
      "futureElement": {"nested": [1.10, 1e3, -0.0], "flag": true}
    }"##;

    #[test]
    fn observation_round_trips_byte_for_byte_with_decimals_extensions_contained_and_status_extension() {
        let r = assert_json_round_trip(OBSERVATION);
        let Resource::Observation(o) = &r else { panic!("not an Observation: {r:?}") };
        let Some(ValueX::Quantity(q)) = &o.value else { panic!("no valueQuantity") };
        assert_eq!(q.value.as_ref().unwrap().to_string(), "62.50");
        assert_eq!(o.status_element.as_ref().unwrap().extension[0].value, Some(ValueX::Code("device".into())));
        assert_eq!(o.contained[0].resource_type(), "Practitioner");
        assert!(matches!(o.contained[1], Resource::Organization(_)));
        assert!(o.extra.contains_key("futureElement"));
        assert_eq!(o.note[0].author, Some(AuthorX::String("看護師".into())));
    }

    #[test]
    fn a_bare_struct_parses_and_serializes_with_its_resource_type() {
        let o: Observation = serde_json::from_str(OBSERVATION).unwrap();
        assert!(!o.extra.contains_key("resourceType"));
        let text = serde_json::to_string(&o).unwrap();
        assert!(text.starts_with(r#"{"resourceType":"Observation","id":"body-weight-1""#), "{text}");
        assert_eq!(text, minify(OBSERVATION));
        let err = serde_json::from_str::<Patient>(OBSERVATION).unwrap_err();
        assert!(err.to_string().contains("resourceType must be \"Patient\""), "{err}");
    }

    #[test]
    fn a_resource_built_in_code_serializes_through_the_enum_with_resource_type_first() {
        let r: Resource = Patient { id: Some("x".into()), gender: Some("female".into()), ..Default::default() }.into();
        assert_eq!(serde_json::to_string(&r).unwrap(), r#"{"resourceType":"Patient","id":"x","gender":"female"}"#);
        let o = Observation::default();
        assert_eq!(serde_json::to_string(&o).unwrap(), r#"{"resourceType":"Observation","code":{}}"#);
    }

    #[test]
    fn unknown_resource_types_are_kept_whole_and_non_objects_are_refused() {
        let text = r#"{"resourceType":"Practitioner","id":"p","qualification":[{"code":{"text":"医師"}}],"x":0.10}"#;
        let r = assert_json_round_trip(text);
        assert!(matches!(&r, Resource::Other(_)));
        assert_eq!(r.resource_type(), "Practitioner");
        assert!(Resource::from_json(r#"{"id":"no-type"}"#).is_err());
        assert!(Resource::from_json(r#"{"resourceType":7}"#).is_err());
        assert!(Resource::from_json("[1,2]").is_err());
        assert!(Resource::from_json(r#"{"resourceType":"Observation","status":3}"#).is_err());
    }

    #[test]
    fn bundle_with_entries_search_scores_and_nested_resources_round_trips() {
        assert_json_round_trip(
            r##"{"resourceType":"Bundle","id":"b1","type":"searchset","total":2,
              "link":[{"relation":"self","url":"https://phr.example/fhir/Observation?patient=pt-1"}],
              "entry":[
                {"fullUrl":"https://phr.example/fhir/Observation/bp1",
                 "resource":{"resourceType":"Observation","id":"bp1","status":"final",
                   "code":{"coding":[{"system":"http://loinc.org","code":"85354-9"}]},
                   "subject":{"reference":"Patient/pt-1"},"effectiveDateTime":"2026-03-01T07:30:00+09:00",
                   "component":[
                     {"code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},
                      "valueQuantity":{"value":118,"unit":"mm[Hg]","system":"http://unitsofmeasure.org","code":"mm[Hg]"}},
                     {"code":{"coding":[{"system":"http://loinc.org","code":"8462-4"}]},
                      "valueQuantity":{"value":76.0,"unit":"mm[Hg]","system":"http://unitsofmeasure.org","code":"mm[Hg]"}}]},
                 "search":{"mode":"match","score":1.0}},
                {"fullUrl":"https://phr.example/fhir/Practitioner/p","resource":{"resourceType":"Practitioner","id":"p"},
                 "search":{"mode":"include"}}]}"##,
        );
    }

    #[test]
    fn every_modelled_resource_type_round_trips_byte_for_byte() {
        let examples = [
            r##"{"resourceType":"Patient","id":"pt-1","identifier":[{"system":"urn:oid:1.2.392.100495.20.3.51.1","value":"12345678"}],
               "name":[{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation","valueCode":"IDE"}],
                        "use":"official","text":"山田 花子","family":"山田","given":["花子"]}],
               "telecom":[{"system":"phone","value":"03-0000-0000","use":"mobile","rank":1}],
               "gender":"female","birthDate":"1994-07-15","deceasedBoolean":false,
               "address":[{"text":"東京都千代田区","postalCode":"100-0001","country":"JP"}],
               "multipleBirthInteger":2,"contact":[{"relationship":[{"text":"夫"}]}],
               "_birthDate":{"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/patient-birthTime","valueDateTime":"1994-07-15T08:30:00+09:00"}]}}"##,
            r##"{"resourceType":"RelatedPerson","id":"rp","patient":{"reference":"Patient/child"},
               "relationship":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-RoleCode","code":"MTH"}]}],
               "name":[{"text":"山田 花子"}],"gender":"female"}"##,
            r##"{"resourceType":"Organization","id":"o","identifier":[{"system":"https://phr.example/NamingSystem/facility-id","value":"1312345678"}],
               "active":true,"type":[{"text":"clinic"}],"name":"さくら産婦人科","alias":["さくら"]}"##,
            r##"{"resourceType":"Encounter","id":"e","status":"finished",
               "class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":"AMB"},
               "type":[{"text":"妊婦健診"}],"subject":{"reference":"Patient/pt-1"},"period":{"start":"2026-04-02"},
               "location":[{"location":{"display":"外来"},"status":"completed"}],"serviceProvider":{"reference":"#clinic"}}"##,
            r##"{"resourceType":"Immunization","id":"im","extension":[{"url":"http://jpfhir.jp/fhir/core/Extension/StructureDefinition/JP_Immunization_DueDateOfNextDose","valueDateTime":"2032-04-01"}],
               "status":"completed","vaccineCode":{"coding":[{"system":"urn:oid:1.2.392.200119.4.403.1","code":"123456701"}],"text":"MR"},
               "patient":{"reference":"Patient/child"},"occurrenceDateTime":"2027-10-10","primarySource":true,
               "lotNumber":"MR-1","doseQuantity":{"value":0.5,"unit":"mL","system":"http://unitsofmeasure.org","code":"mL"},
               "performer":[{"actor":{"display":"佐藤 一郎"}}],
               "protocolApplied":[{"series":"1期","doseNumberPositiveInt":1,"seriesDosesPositiveInt":2}]}"##,
            r##"{"resourceType":"MedicationStatement","id":"vk","status":"completed",
               "medicationCodeableConcept":{"text":"ビタミンK2シロップ"},"subject":{"reference":"Patient/child"},
               "effectivePeriod":{"start":"2026-10-05","end":"2027-01-04"},"dosage":[{"sequence":1,"text":"週1回","timing":{"repeat":{"frequency":1,"period":1,"periodUnit":"wk"}}}]}"##,
            r##"{"resourceType":"MedicationDispense","id":"md","status":"completed",
               "medicationCodeableConcept":{"coding":[{"system":"urn:oid:1.2.392.100495.20.2.74","code":"1141007C1075"}]},
               "subject":{"reference":"Patient/pt-1"},"performer":[{"actor":{"display":"ひまわり薬局"}}],
               "quantity":{"value":2.50,"unit":"g"},"daysSupply":{"value":5,"unit":"d","system":"http://unitsofmeasure.org","code":"d"},
               "whenHandedOver":"2027-03-01","dosageInstruction":[{"text":"発熱時 頓用"}]}"##,
            r##"{"resourceType":"Condition","id":"c","clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}]},
               "code":{"coding":[{"system":"http://snomed.info/sct","code":"11687002"}]},"subject":{"reference":"Patient/pt-1"},
               "onsetAge":{"value":31.5,"unit":"a","system":"http://unitsofmeasure.org","code":"a"},"recordedDate":"2026-04-02"}"##,
            r##"{"resourceType":"AllergyIntolerance","id":"al","clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical","code":"active"}]},
               "type":"allergy","category":["food"],"criticality":"high","code":{"text":"卵"},"patient":{"reference":"Patient/child"},
               "onsetDateTime":"2027-06-01","recordedDate":"2027-06-02",
               "reaction":[{"manifestation":[{"text":"じんましん"}],"severity":"moderate"}]}"##,
            r##"{"resourceType":"Composition","id":"ips","status":"final",
               "type":{"coding":[{"system":"http://loinc.org","code":"60591-5"}]},"subject":{"reference":"urn:uuid:0b0e2a8c-5c5c-4c5c-8c5c-0b0e2a8c5c5c"},
               "date":"2026-12-04T10:00:00+09:00","author":[{"display":"phr app"}],"title":"International Patient Summary",
               "section":[{"title":"Allergies","code":{"coding":[{"system":"http://loinc.org","code":"48765-2"}]},
                           "text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">none known</div>"},
                           "emptyReason":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/list-empty-reason","code":"nilknown"}]}}]}"##,
            r##"{"resourceType":"QuestionnaireResponse","id":"q","questionnaire":"https://phr.example/Questionnaire/milestones",
               "status":"completed","subject":{"reference":"Patient/child"},"authored":"2028-03-01",
               "item":[{"linkId":"walking","text":"ひとり歩き","answer":[{"valueCoding":{"code":"yes"},
                        "item":[{"linkId":"walking.date","answer":[{"valueDate":"2027-10-20"}]}]}]},
                       {"linkId":"weight","answer":[{"valueDecimal":9.80}]}]}"##,
            r##"{"resourceType":"Consent","id":"cs","status":"active",
               "scope":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"patient-privacy"}]},
               "category":[{"text":"treatment"}],"patient":{"reference":"Patient/pt-1"},"dateTime":"2026-04-01T09:00:00+09:00",
               "provision":{"type":"permit","period":{"start":"2026-04-01"},"actor":[{"role":{"text":"grantee"},"reference":{"reference":"Organization/o"}}],
                            "action":[{"text":"access"}],"class":[{"system":"http://hl7.org/fhir/resource-types","code":"Observation"}],
                            "provision":[{"type":"deny","code":[{"text":"dental"}]}]}}"##,
            r##"{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"invalid",
               "diagnostics":"Observation[1].valueQuantity.code: unit must be UCUM \"kg\", got \"g\"",
               "expression":["Bundle.entry[1].resource.valueQuantity.code"]}]}"##,
            r##"{"resourceType":"CapabilityStatement","status":"active","date":"2026-05-01","kind":"instance",
               "software":{"name":"phr-server","version":"0.1.0"},"fhirVersion":"4.0.1","format":["json"],
               "rest":[{"mode":"server","security":{"cors":false,"service":[{"text":"SMART-on-FHIR"}]},
                        "resource":[{"type":"Observation","interaction":[{"code":"read"},{"code":"search-type"}],
                                     "searchParam":[{"name":"patient","type":"reference"}]}]}]}"##,
            r##"{"resourceType":"AuditEvent","type":{"system":"http://dicom.nema.org/resources/ontology/DCM","code":"110110"},
               "action":"R","recorded":"2026-05-01T10:00:00.123+09:00","outcome":"0",
               "agent":[{"who":{"reference":"Organization/o"},"requestor":true,"policy":["urn:uuid:0190"],
                         "network":{"address":"127.0.0.1","type":"2"}}],
               "source":{"observer":{"display":"phr-server"}},
               "entity":[{"what":{"reference":"Observation/bp1"},"detail":[{"type":"grant","valueString":"g1"}]}]}"##,
        ];
        for text in examples {
            let r = assert_json_round_trip(text);
            assert!(!matches!(r, Resource::Other(_)), "{} should be modelled", r.resource_type());
        }
    }
}
