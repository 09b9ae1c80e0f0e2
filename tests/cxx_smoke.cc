// make test-config: smtp.h compiles as C++ and a session runs from C++.
#include "smtp.h"
int main() { struct smtp_session s; union smtp_event ev; size_t n, k; int st = 0;
  smtp_init(&s, 0);
  for (int i = 0; i < 100 && st != SMTP_CLOSED; i++) {
    st = smtp_feed(&s, "QUIT\r\n", 6, &n, &ev);
    if (smtp_output(&s, &k)) smtp_output_done(&s, k); }
  return smtp_closed(&s) ? 0 : 1; }
