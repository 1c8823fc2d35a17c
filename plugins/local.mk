# plugins: targets are added here.
