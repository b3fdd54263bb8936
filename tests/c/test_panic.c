/* A panic inside the core comes back as PN_ERR_PANIC and the library stays
 * usable. Needs the library built with the `panic-probe` feature. */
#define PN_PANIC_PROBE 1
#include "pn_test.h"

int main(void) {
  pn_phi_config config;
  pn_phi_detector *d = NULL;
  double phi = -1.0;

  CHECK_CODE(pn_testing_trigger_panic(), PN_ERR_PANIC);
  CHECK_CODE(pn_testing_trigger_panic(), PN_ERR_PANIC);
  CHECK(strstr(pn_result_str(PN_ERR_PANIC), "panic") != NULL);

  /* Afterwards the library works as before. */
  CHECK_OK(pn_phi_config_default(&config));
  CHECK_OK(pn_phi_detector_new(&config, &d));
  CHECK_OK(pn_phi_detector_heartbeat(d, 0));
  CHECK_OK(pn_phi_detector_phi(d, 1000000, &phi));
  CHECK(phi > 0.0 && phi < 1.0);
  pn_phi_detector_free(d);
  return pn_test_finish("test_panic");
}
