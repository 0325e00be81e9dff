/* Nothing to include: this target only provides definitions for a static libpq. */
void vpop_pq_static_marker(void);
