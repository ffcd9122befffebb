// The mobile core driven from Kotlin on the JVM, through the uniffi-generated
// bindings (packages uniffi.phr_mobile and uniffi.phr_core) and JNA, against a
// real phr-server (PHR_SERVER_URL; tests/kotlin/run.sh starts one). The same
// calls an Android app makes: register, add typed records offline (one of
// every dataset module), sync with progress, read them back typed on a paired
// phone, export and import one as JSON, and branch on a typed validation error.
//
// Exits 0 when every check holds; otherwise prints the failed check and exits 1.

import java.io.File
import java.net.HttpURLConnection
import java.net.URI
import java.nio.file.Files
import java.security.SecureRandom
import java.time.LocalDate
import java.time.OffsetDateTime
import java.time.ZoneOffset
import uniffi.phr_core.Achieved
import uniffi.phr_core.Allergy
import uniffi.phr_core.AllergyCategory
import uniffi.phr_core.AllergyClinicalStatus
import uniffi.phr_core.BloodPressure
import uniffi.phr_core.Centimetres
import uniffi.phr_core.CheckupType
import uniffi.phr_core.ChildCheckup
import uniffi.phr_core.Condition
import uniffi.phr_core.ConditionClinicalStatus
import uniffi.phr_core.ConditionCode
import uniffi.phr_core.Delivery
import uniffi.phr_core.DeliveryMethod
import uniffi.phr_core.DevelopmentMilestone
import uniffi.phr_core.DoseSeries
import uniffi.phr_core.FoodAllergen
import uniffi.phr_core.Grams
import uniffi.phr_core.Identifier
import uniffi.phr_core.Immunization
import uniffi.phr_core.Kilograms
import uniffi.phr_core.Manifestation
import uniffi.phr_core.MeasurementPosition
import uniffi.phr_core.Medication
import uniffi.phr_core.Milestone
import uniffi.phr_core.MillimetresOfMercury
import uniffi.phr_core.MotherProfile
import uniffi.phr_core.Newborn
import uniffi.phr_core.Pregnancy
import uniffi.phr_core.PregnancyStatus
import uniffi.phr_core.PrenatalVisit
import uniffi.phr_core.ReactionSeverity
import uniffi.phr_core.RecordBody
import uniffi.phr_core.RecordKind
import uniffi.phr_core.SelfVitals
import uniffi.phr_core.Sex
import uniffi.phr_core.SubjectIdentifiers
import uniffi.phr_core.Vaccine
import uniffi.phr_mobile.HttpHeader
import uniffi.phr_mobile.HttpRequest
import uniffi.phr_mobile.HttpResponse
import uniffi.phr_mobile.HttpTransport
import uniffi.phr_mobile.PhrClient
import uniffi.phr_mobile.PhrException
import uniffi.phr_mobile.SyncPhase
import uniffi.phr_mobile.SyncProgress
import uniffi.phr_mobile.SyncProgressUpdate
import uniffi.phr_mobile.TransportException
import uniffi.phr_mobile.recordBodyFromJson
import uniffi.phr_mobile.recordBodyToJson

/**
 * The app's HTTP client: java.net.HttpURLConnection with each request's own
 * timeout; 4xx/5xx are answers, not errors; the answer's headers (Date,
 * Retry-After, ...) go back to the engine.
 */
class UrlConnectionTransport : HttpTransport {
    @Volatile var offline = false
    @Volatile var calls = 0

    override fun send(request: HttpRequest): HttpResponse {
        calls += 1
        if (offline) throw TransportException.Failed("offline")
        try {
            val conn = URI(request.url).toURL().openConnection() as HttpURLConnection
            conn.requestMethod = request.method
            val timeout = request.timeoutMs.toLong().coerceIn(1L, Int.MAX_VALUE.toLong()).toInt()
            conn.connectTimeout = timeout
            conn.readTimeout = timeout
            request.headers.forEach { conn.setRequestProperty(it.name, it.value) }
            if (request.body.isNotEmpty()) {
                conn.doOutput = true
                conn.outputStream.use { it.write(request.body) }
            }
            val status = conn.responseCode
            val stream = if (status >= 400) conn.errorStream else conn.inputStream
            val body = stream?.use { it.readBytes() } ?: ByteArray(0)
            val headers = conn.headerFields.filterKeys { it != null }.flatMap { (name, values) ->
                values.map { HttpHeader(name, it) }
            }
            conn.disconnect()
            return HttpResponse(status.toUShort(), body, headers)
        } catch (e: java.io.IOException) {
            throw TransportException.Failed(e.toString())
        }
    }
}

class RecordingProgress : SyncProgress {
    val updates = mutableListOf<SyncProgressUpdate>()

    override fun onProgress(update: SyncProgressUpdate) {
        synchronized(updates) { updates.add(update) }
    }
}

val today: LocalDate = LocalDate.now()
val jst: ZoneOffset = ZoneOffset.ofHours(9)

fun visit(date: LocalDate, note: String, weightKg: Double): RecordBody =
    RecordBody.PrenatalVisit(
        PrenatalVisit(
            visitDate = date,
            clinicName = "Sakura Maternity Clinic",
            bodyWeight = Kilograms(weightKg),
            bloodPressure = BloodPressure(systolic = MillimetresOfMercury(112.0), diastolic = MillimetresOfMercury(70.0)),
            note = note,
        )
    )

/** One typed record of every other dataset module: (subject is the child, body). */
fun everyOtherModule(birth: LocalDate): List<Pair<Boolean, RecordBody>> = listOf(
    false to RecordBody.MotherProfile(MotherProfile(nameKanji = "山田 花子", birthDate = LocalDate.of(1994, 7, 15))),
    false to RecordBody.Pregnancy(Pregnancy(estimatedDeliveryDate = birth.plusDays(3), status = PregnancyStatus.LIVE_BIRTH, outcomeDate = birth)),
    false to RecordBody.Delivery(
        Delivery(deliveredAt = OffsetDateTime.of(birth.atTime(14, 32), jst), method = DeliveryMethod.VAGINAL, numberOfBabies = 1u)
    ),
    true to RecordBody.Newborn(
        Newborn(sex = Sex.FEMALE, birthDate = birth, birthWeight = Grams(3050.0), birthLength = Centimetres(49.5))
    ),
    true to RecordBody.ChildCheckup(
        ChildCheckup(
            date = birth.plusDays(30),
            checkupType = CheckupType.MONTH1,
            weight = Kilograms(4.2),
            length = Centimetres(53.1),
            lengthPosition = MeasurementPosition.RECUMBENT,
        )
    ),
    true to RecordBody.Development(
        DevelopmentMilestone(milestone = Milestone.SOCIAL_SMILE, achieved = Achieved.YES, answeredOn = birth.plusDays(40))
    ),
    true to RecordBody.Immunization(
        Immunization(vaccine = Vaccine.HEPATITIS_B, routine = true, dateGiven = birth.plusDays(35), doseNumber = 1u, series = DoseSeries.PRIMARY)
    ),
    false to RecordBody.Medication(Medication(dispensedOn = today.minusDays(2), drugName = "ビオフェルミン")),
    false to RecordBody.SelfVitals(SelfVitals(measuredAt = OffsetDateTime.now().minusHours(1), weight = Kilograms(55.5))),
    true to RecordBody.SubjectIdentifiers(
        SubjectIdentifiers(identifiers = listOf(Identifier(system = "urn:oid:1.2.392.100495.20.3.81", value = "2026-0001234")))
    ),
    true to RecordBody.Allergy(
        Allergy(
            category = AllergyCategory.FOOD,
            substance = "卵",
            food = FoodAllergen.EGG,
            clinicalStatus = AllergyClinicalStatus.ACTIVE,
            reactions = listOf(Manifestation.URTICARIA),
            severity = ReactionSeverity.MILD,
            onset = birth.plusDays(50),
        )
    ),
    false to RecordBody.Condition(
        Condition(code = ConditionCode.PREECLAMPSIA, clinicalStatus = ConditionClinicalStatus.RESOLVED, onset = birth.minusDays(40))
    ),
)

fun storageKey(): ByteArray = ByteArray(32).also { SecureRandom().nextBytes(it) }

fun expect(condition: Boolean, what: String) {
    if (!condition) throw IllegalStateException("check failed: $what")
    println("ok - $what")
}

fun run(serverUrl: String, dir: File) {
    val transport = UrlConnectionTransport()
    val mother = PhrClient.open(File(dir, "mother.db").path, storageKey(), transport)
    val account = mother.createAccount(serverUrl, "Mother's Android phone")
    expect(account.serverUrl == serverUrl && account.accountId.isNotEmpty(), "the mother registers an account")

    transport.offline = true
    val callsBefore = transport.calls
    val recordId = mother.addRecord("mother", visit(today.minusDays(3), "first checkup", 54.2))
    expect(transport.calls == callsBefore, "a record is added offline without any network call")
    expect(mother.pendingCount() == 1UL, "the offline record waits in the outbox")

    try {
        mother.sync(null)
        expect(false, "a sync while offline fails")
    } catch (e: PhrException.Network) {
        expect(e.retryable, "a sync while offline is a retryable PhrException.Network")
    }

    transport.offline = false
    val progress = RecordingProgress()
    val report = mother.sync(progress)
    expect(report.pushed == 1UL && report.pending == 0UL && !report.cancelled, "the sync pushes the record")
    expect(progress.updates.isNotEmpty() && progress.updates.last().phase == SyncPhase.DONE,
        "the progress callback reports the sync until DONE")

    val partner = PhrClient.open(File(dir, "partner.db").path, storageKey(), UrlConnectionTransport())
    partner.joinAccount(mother.createPairingInvite(), "Partner's phone")
    expect(partner.sync(null).pulled == 1UL, "a paired phone pulls the record")
    val seen = partner.getRecord(recordId)
    val seenVisit = (seen.body as RecordBody.PrenatalVisit).v1
    expect(seen.kind == RecordKind.PRENATAL_VISIT && seenVisit.note == "first checkup" &&
        seenVisit.bodyWeight == Kilograms(54.2) && seen.effectiveDate == today.minusDays(3),
        "the paired phone reads the visit as a typed PrenatalVisit")

    try {
        mother.addRecord("mother", visit(today.minusDays(1), "typo", 540.0))
        expect(false, "an impossible body weight is refused")
    } catch (e: PhrException.Validation) {
        expect(e.field == "body_weight" && e.issues.any { it.field == "body_weight" },
            "an impossible body weight is a typed PhrException.Validation naming body_weight")
    }
    expect(mother.timeline("mother", null, null, null).size == 1, "the refused record was not stored")

    // One record of every other module, typed, for the mother and a child.
    val child = "child:" + java.util.UUID.randomUUID()
    val birth = today.minusDays(60)
    for ((aboutChild, body) in everyOtherModule(birth)) {
        mother.addRecord(if (aboutChild) child else "mother", body)
    }
    val kinds = (mother.timeline("mother", null, null, null) + mother.timeline(child, null, null, null))
        .map { it.kind }.toSet()
    expect(kinds == RecordKind.values().toSet(), "a typed record of every module is stored: $kinds")
    mother.sync(null)
    partner.sync(null)
    val onPartner = partner.timeline(child, null, null, null)
    val checkup = onPartner.map { it.body }.filterIsInstance<RecordBody.ChildCheckup>().single().v1
    expect(checkup.weight == Kilograms(4.2) && checkup.checkupType == CheckupType.MONTH1,
        "the paired phone reads the child's checkup typed")
    val newborns = partner.timeline(child, RecordKind.NEWBORN, birth, birth)
    expect(newborns.size == 1 && (newborns[0].body as RecordBody.Newborn).v1.sex == Sex.FEMALE,
        "the timeline filters by a typed kind and LocalDate range")

    // JSON only for import/export, clearly named.
    val json = recordBodyToJson(seen.body)
    expect(json.contains("\"prenatal_visit\"") && recordBodyFromJson(json) == seen.body,
        "a body exports to JSON and imports back equal")
    try {
        recordBodyFromJson("{\"kind\":\"x-ray\"}")
        expect(false, "JSON that is no record body is refused")
    } catch (e: PhrException.Validation) {
        expect(e.field == "body", "JSON that is no record body is a PhrException.Validation on body")
    }

    mother.close()
    partner.close()
}

fun main() {
    val serverUrl = System.getenv("PHR_SERVER_URL") ?: run {
        System.err.println("PHR_SERVER_URL is not set (tests/kotlin/run.sh starts a server)")
        kotlin.system.exitProcess(2)
    }
    val dir = Files.createTempDirectory("phr-kotlin-").toFile()
    try {
        run(serverUrl, dir)
        println("kotlin: all checks passed")
    } catch (e: Throwable) {
        System.err.println("kotlin: FAILED: $e")
        kotlin.system.exitProcess(1)
    } finally {
        dir.deleteRecursively()
    }
}
