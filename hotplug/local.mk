# hotplug: targets are added here.
