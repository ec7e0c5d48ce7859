// The realistic payload every JavaScript bench uses: `count` series of ten labels each, shaped
// like a Kubernetes service's metrics (job, instance, pod, route, le, ...). `extra` labels are
// added to every series (e.g. one value per load-generator connection, so that each connection
// writes series of its own, in order).
const names = ['http_request_duration_seconds_bucket', 'http_requests_total', 'http_response_size_bytes_bucket',
  'grpc_server_handled_total', 'process_cpu_seconds_total', 'process_resident_memory_bytes', 'go_goroutines',
  'node_network_receive_bytes_total'];
const pick = (i, k, xs) => xs[(i * 7919 + k * 104729) % xs.length];
const jobs = ['api', 'checkout', 'payments', 'search', 'frontend', 'inventory'];

export function seriesLabels(count, extra = {}) {
  return Array.from({ length: count }, (_, i) => {
    const job = pick(i, 1, jobs);
    return {
      __name__: names[i % names.length],
      code: pick(i, 2, ['200', '201', '204', '301', '400', '404', '500', '503']),
      instance: `10.0.${Math.floor(i / 250) % 256}.${(i % 250) + 1}:9100`,
      job,
      le: pick(i, 3, ['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10', '+Inf']),
      method: pick(i, 4, ['GET', 'POST', 'PUT', 'DELETE']),
      namespace: pick(i, 5, ['production', 'staging', 'kube-system', 'monitoring']),
      pod: `${job}-7d9f8b42-${(i * 2654435761 % 60466176).toString(36).padStart(5, 'a')}`,
      route: `/api/v1/items/${i % 97}`,
      service: `${job}-svc`,
      ...extra,
    };
  });
}
