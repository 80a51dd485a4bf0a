"""The kit's checks, one mixin class per area; :class:`kombu.testing.TransportConformance`
combines them."""
