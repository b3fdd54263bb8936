/* pn_phi_detector against Akka's phi formula computed independently here.
 * Also compiled as C++ to prove the header is C++-usable, so it sticks to the
 * common subset of C99 and C++. */
#include <math.h>

#include "pn_test.h"

/* Akka's phi: y = (t - mean) / std, e = exp(-y (1.5976 + 0.070566 y^2)). */
static double akka_phi(double elapsed, double mean, double std) {
  double y = (elapsed - mean) / std;
  double e = exp(-y * (1.5976 + 0.070566 * y * y));
  return elapsed > mean ? -log10(e / (1.0 + e)) : -log10(1.0 - 1.0 / (1.0 + e));
}

static int close_to(double a, double b) { return a == b || fabs(a - b) <= 1e-9 * (fabs(b) > 1.0 ? fabs(b) : 1.0); }

int main(void) {
  pn_phi_config config;
  pn_phi_detector *d = NULL;
  double phi = -1.0;
  bool available = false;
  pn_phi_stats stats;

  CHECK_OK(pn_phi_config_default(&config));
  CHECK(config.threshold == 8.0);
  CHECK(config.max_sample_size == PN_PHI_WINDOW);
  CHECK(config.min_std_deviation_us == 100000u);
  CHECK(config.first_heartbeat_estimate_us == SEC(1));

  CHECK_OK(pn_phi_detector_new(&config, &d));
  CHECK(d != NULL);

  /* Before any heartbeat: phi 0 and available. */
  CHECK_OK(pn_phi_detector_phi(d, SEC(100), &phi));
  CHECK(phi == 0.0);
  CHECK_OK(pn_phi_detector_is_available(d, SEC(100), &available));
  CHECK(available);

  /* Heartbeats every 1.2 s. The first seeds the window with 0.75 s and 1.25 s. */
  {
    const int beats = 11;
    double intervals[2 + 10];
    double sum = 0.0, sq = 0.0, mean, std;
    int n = 0, i;
    uint64_t last = 0;
    intervals[n++] = 750000.0;
    intervals[n++] = 1250000.0;
    for (i = 0; i < beats; i++) {
      last = (uint64_t)i * 1200000u;
      CHECK_OK(pn_phi_detector_heartbeat(d, last));
      if (i > 0) intervals[n++] = 1200000.0;
    }
    for (i = 0; i < n; i++) {
      sum += intervals[i];
      sq += intervals[i] * intervals[i];
    }
    mean = sum / n;
    std = sqrt(sq / n - mean * mean);
    if (std < 100000.0) std = 100000.0;

    CHECK_OK(pn_phi_detector_stats(d, &stats));
    CHECK(stats.sample_count == (uint32_t)n);
    CHECK(stats.has_heartbeat);
    CHECK(stats.last_heartbeat_us == last);
    CHECK(close_to(stats.mean_us, sum / n));

    for (i = 0; i <= 40; i++) {
      uint64_t elapsed = (uint64_t)i * 100000u;
      double expected = akka_phi((double)elapsed, mean, std);
      CHECK_OK(pn_phi_detector_phi(d, last + elapsed, &phi));
      if (!close_to(phi, expected)) fprintf(stderr, "elapsed %llu: %.17g vs %.17g\n", (unsigned long long)elapsed, phi, expected);
      CHECK(close_to(phi, expected));
      CHECK_OK(pn_phi_detector_is_available(d, last + elapsed, &available));
      if (fabs(expected - 8.0) > 1e-6) CHECK(available == (expected < 8.0));
    }
    /* The deadline is where phi reaches the threshold. */
    CHECK_OK(pn_phi_detector_phi(d, stats.available_until_us, &phi));
    CHECK(phi >= 8.0);
    CHECK_OK(pn_phi_detector_phi(d, stats.available_until_us - 1, &phi));
    CHECK(phi < 8.0);
    /* Far in the future phi saturates instead of becoming NaN. */
    CHECK_OK(pn_phi_detector_phi(d, UINT64_MAX, &phi));
    CHECK(!(phi != phi) && phi > 1e300);
  }

  /* Errors: NULL handle, NULL out-pointer, invalid config. Outputs stay untouched. */
  phi = 42.0;
  CHECK_CODE(pn_phi_detector_phi(NULL, 0, &phi), PN_ERR_NULL_POINTER);
  CHECK(phi == 42.0);
  CHECK_CODE(pn_phi_detector_phi(d, 0, NULL), PN_ERR_NULL_POINTER);
  CHECK_CODE(pn_phi_detector_heartbeat(NULL, 0), PN_ERR_NULL_POINTER);
  CHECK_CODE(pn_phi_config_default(NULL), PN_ERR_NULL_POINTER);
  {
    pn_phi_detector *bad = NULL;
    pn_phi_config c = config;
    c.threshold = 0.0;
    CHECK_CODE(pn_phi_detector_new(&c, &bad), PN_ERR_INVALID_CONFIG);
    CHECK(bad == NULL);
    c = config;
    c.first_heartbeat_estimate_us = 0;
    CHECK_CODE(pn_phi_detector_new(&c, &bad), PN_ERR_INVALID_CONFIG);
    CHECK_CODE(pn_phi_detector_new(NULL, &bad), PN_ERR_NULL_POINTER);
  }

  /* Result strings are static and named; unknown codes too. */
  CHECK(strcmp(pn_result_str(PN_OK), "ok") == 0);
  CHECK(strstr(pn_result_str(PN_ERR_NULL_POINTER), "NULL") != NULL);
  CHECK(strcmp(pn_result_str(12345), "unknown result code") == 0);
  CHECK(PN_ERR_PANIC == 99 && PN_ERR_NOT_FOUND == 20 && PN_ERR_BUFFER_TOO_SMALL == 40);

  pn_phi_detector_free(d);
  pn_phi_detector_free(NULL);
  return pn_test_finish("test_phi");
}
