// What a record costs to cross the FFI from Kotlin on the JVM (JNA), typed:
// `addRecord` of a fully filled prenatal visit, `getRecord` until the app
// holds the visit's note, and a 500-entry `timelinePage` read to the last
// entry's note, against a real phr-server (PHR_SERVER_URL). JIT warm-up
// first. Prints `name value unit` lines. tests/kotlin/bench.sh builds and
// runs it.

import java.io.File
import java.net.HttpURLConnection
import java.net.URI
import java.nio.file.Files
import java.security.SecureRandom
import java.time.LocalDate
import uniffi.phr_core.RecordBody
import uniffi.phr_mobile.HttpHeader
import uniffi.phr_mobile.HttpRequest
import uniffi.phr_mobile.HttpResponse
import uniffi.phr_mobile.HttpTransport
import uniffi.phr_mobile.PhrClient
import uniffi.phr_mobile.TransportException
import uniffi.phr_mobile.recordBodyFromJson

class BenchTransport : HttpTransport {
    override fun send(request: HttpRequest): HttpResponse {
        try {
            val conn = URI(request.url).toURL().openConnection() as HttpURLConnection
            conn.requestMethod = request.method
            request.headers.forEach { conn.setRequestProperty(it.name, it.value) }
            if (request.body.isNotEmpty()) {
                conn.doOutput = true
                conn.outputStream.use { it.write(request.body) }
            }
            val status = conn.responseCode
            val body = (if (status >= 400) conn.errorStream else conn.inputStream)?.use { it.readBytes() } ?: ByteArray(0)
            val headers = conn.headerFields.filterKeys { it != null }.flatMap { (n, vs) -> vs.map { HttpHeader(n, it) } }
            return HttpResponse(status.toUShort(), body, headers)
        } catch (e: java.io.IOException) {
            throw TransportException.Failed(e.toString())
        }
    }
}

/** The same fully filled visit as tests/python/mobile/bench_ffi.py, as JSON. */
fun visitJson(i: Int): String {
    val day = LocalDate.now().minusDays(1L + i % 200)
    return """{"kind":"prenatal_visit","body":{"visit_date":"$day","clinic_name":"さくら産婦人科","clinic_id":"1312345678",""" +
        """"body_weight":{"value":54.2,"unit":"kg"},"blood_pressure":{"systolic":{"value":112.0,"unit":"mm[Hg]"},""" +
        """"diastolic":{"value":70.0,"unit":"mm[Hg]"}},"fundal_height":{"value":12.0,"unit":"cm"},""" +
        """"abdominal_girth":{"value":80.0,"unit":"cm"},"edema":"negative","urine_protein":"negative",""" +
        """"urine_glucose":"negative","fetal_heart_rate":{"value":150.0,"unit":"/min"},"labs":{"hemoglobin":""" +
        """{"value":11.8,"unit":"g/dL"},"hematocrit":{"value":35.0,"unit":"%"},"platelets":{"value":220.0,""" +
        """"unit":"10*3/uL"}},"hypertensive_disorder":false,"gestational_diabetes":false,"dental":""" +
        """{"caries_count":0,"calculus":false,"gingivitis":false},"note":"visit $i"}}"""
}

fun note(body: RecordBody): String? = (body as RecordBody.PrenatalVisit).v1.note

fun pct(samples: List<Long>, q: Double): Long = samples.sorted()[minOf(samples.size - 1, (q * samples.size).toInt())]

fun main() {
    val url = System.getenv("PHR_SERVER_URL") ?: error("PHR_SERVER_URL is not set")
    val adds = (System.getenv("PHR_BENCH_ADDS") ?: "2000").toInt()
    val warmup = 500
    val dir = Files.createTempDirectory("phr-kotlin-bench-").toFile()
    try {
        val key = ByteArray(32).also { SecureRandom().nextBytes(it) }
        val client = PhrClient.open(File(dir, "bench.db").path, key, BenchTransport())
        client.createAccount(url, "bench phone")
        // Typed bodies, made outside the timing (the app builds them from its form).
        val bodies = (0 until warmup + adds).map { recordBodyFromJson(visitJson(it)) }
        val ids = ArrayList<String>()
        val addTimes = ArrayList<Long>()
        for ((i, body) in bodies.withIndex()) {
            val t = System.nanoTime()
            ids.add(client.addRecord("mother", body))
            if (i >= warmup) addTimes.add(System.nanoTime() - t)
        }
        val getTimes = ArrayList<Long>()
        for ((i, id) in ids.withIndex()) {
            val t = System.nanoTime()
            check(note(client.getRecord(id).body) != null)
            if (i >= warmup) getTimes.add(System.nanoTime() - t)
        }
        val pageTimes = ArrayList<Long>()
        repeat(25) { round ->
            val t = System.nanoTime()
            val page = client.timelinePage("mother", null, null, null, null, 500u)
            check(note(page.entries.last().body) != null)
            if (round >= 5) pageTimes.add(System.nanoTime() - t)
        }
        client.close()
        println("kotlin_ffi_api_typed 1 flag")
        println("kotlin_ffi_add_record_p50 ${pct(addTimes, 0.5) / 1000} us")
        println("kotlin_ffi_add_record_p99 ${pct(addTimes, 0.99) / 1000} us")
        println("kotlin_ffi_get_record_p50 ${pct(getTimes, 0.5) / 1000} us")
        println("kotlin_ffi_timeline_500_p50 ${"%.2f".format(pct(pageTimes, 0.5) / 1e6)} ms")
    } finally {
        dir.deleteRecursively()
    }
}
