"""How much content the benchmark puts on an engine (full scale and the quick mode)."""
import dataclasses


@dataclasses.dataclass(frozen=True)
class Scale:  # pylint: disable=too-many-instance-attributes
    """Counts of each kind of object; ``old_images`` (dangling ones included) are the unused set every prune removes."""

    images: int = 2000
    dangling: int = 500
    old_images: int = 1000
    containers: int = 300
    running: int = 30
    exited: int = 30
    volumes: int = 200
    mounted_volumes: int = 100
    cache_records: int = 1000
    steps_per_build: int = 80

    def scaled(self, factor: float) -> "Scale":
        """The same shape with every count multiplied by ``factor`` (at least 1 of each)."""
        fields = {field.name: max(1, round(getattr(self, field.name) * factor))
                  for field in dataclasses.fields(self) if field.name != "steps_per_build"}
        return dataclasses.replace(self, **fields, steps_per_build=min(self.steps_per_build, fields["cache_records"]))


FULL = Scale()
QUICK = FULL.scaled(0.1)
# One host of the fleet comparison: a small busy host, so 25 of them reseed in seconds.
FLEET_HOST = dataclasses.replace(FULL.scaled(0.05), cache_records=40, steps_per_build=20)

# The cost curves: one host at these image counts (FULL's shape, scaled), and fleets of FLEET_HOST hosts.
CURVE_IMAGES = (500, 1000, 2000, 4000)
CURVE_IMAGES_QUICK = (50, 100, 200, 400)
CURVE_HOSTS = (5, 10, 25, 50)
CURVE_HOSTS_QUICK = (2, 3, 5)


def image_scale(images: int) -> Scale:
    """FULL's shape at ``images`` images."""
    return FULL.scaled(images / FULL.images)
