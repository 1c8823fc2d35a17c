# forecast: targets are added here.
