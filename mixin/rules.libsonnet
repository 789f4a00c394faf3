// Recording rules. The dashboard queries the exporter's series directly (they are few and
// cheap), so the mixin needs none; the field exists for the usual mixin shape.
{
  prometheusRules+:: {
    groups+: [],
  },
}
