// The mobile core driven from Kotlin on the JVM, through the uniffi-generated
// bindings (package uniffi.phr_mobile) and JNA, against a real phr-server
// (PHR_SERVER_URL; tests/kotlin/run.sh starts one). The same calls an Android
// app makes: register, add a record offline, sync with progress, see it on a
// paired phone, and branch on a typed validation error.
//
// Exits 0 when every check holds; otherwise prints the failed check and exits 1.

import java.io.File
import java.net.HttpURLConnection
import java.net.URI
import java.nio.file.Files
import java.security.SecureRandom
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

fun visit(date: String, note: String, weightKg: Double): String =
    """{"kind":"prenatal_visit","body":{"visit_date":"$date","clinic_name":"Sakura Maternity Clinic",""" +
        """"body_weight":{"value":$weightKg,"unit":"kg"},"note":"$note"}}"""

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
    val recordId = mother.addRecord("mother", visit("2026-04-02", "first checkup", 54.2))
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
    expect(seen.kind == "prenatal_visit" && seen.bodyJson.contains("first checkup"), "the paired phone reads the visit")

    try {
        mother.addRecord("mother", visit("2026-04-30", "typo", 540.0))
        expect(false, "an impossible body weight is refused")
    } catch (e: PhrException.Validation) {
        expect(e.field == "body_weight" && e.issues.any { it.field == "body_weight" },
            "an impossible body weight is a typed PhrException.Validation naming body_weight")
    }
    expect(mother.timeline("mother", null, null, null).size == 1, "the refused record was not stored")

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
