# pattern: targets are added here.
