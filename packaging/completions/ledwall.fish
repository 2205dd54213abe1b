# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_ledwall_global_optspecs
    string join \n h/help V/version
end

function __fish_ledwall_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_ledwall_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_ledwall_using_subcommand
    set -l cmd (__fish_ledwall_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c ledwall -n "__fish_ledwall_needs_command" -s h -l help -d 'Print help'
complete -c ledwall -n "__fish_ledwall_needs_command" -s V -l version -d 'Print version'
complete -c ledwall -n "__fish_ledwall_needs_command" -f -a "play" -d 'Play a playlist on a wall at its refresh rate: the main job'
complete -c ledwall -n "__fish_ledwall_needs_command" -f -a "render" -d 'Render one frame of any media (image, animation, image sequence, video, pattern:) into port buffers, their layout and a preview'
complete -c ledwall -n "__fish_ledwall_needs_command" -f -a "validate" -d 'Check wall and playlist files (a playlist with the playlists its schedule names); list every problem with its file and field, and missing media as warnings'
complete -c ledwall -n "__fish_ledwall_needs_command" -f -a "info" -d 'Show the version, the backends built in, the CPU features found, the media formats that decode, the monitors (for display: sinks) and the network interfaces (for colorlight:// sinks)'
complete -c ledwall -n "__fish_ledwall_needs_command" -f -a "bench" -d 'Measure the real pipeline on this machine: throughput (decode → render → null sink), per-stage p50/p99, latency, pacer lateness at the refresh rate, allocations per frame, peak RSS, and the memory-bandwidth floor'
complete -c ledwall -n "__fish_ledwall_needs_command" -f -a "preview" -d 'Show what the wall will show, without the wall: an animated GIF or APNG, a contact sheet or an HTML report of a playlist, rendered through the real pipeline and the emulator (quantization, dithering, brightness and module layout included)'
complete -c ledwall -n "__fish_ledwall_needs_command" -f -a "init" -d 'Write the demo wall, playlist and media into DIR as files to start a show from: DIR/wall.toml, DIR/playlist.toml and DIR/media/'
complete -c ledwall -n "__fish_ledwall_needs_command" -f -a "completions" -d 'Print the shell completion script for SHELL on stdout'
complete -c ledwall -n "__fish_ledwall_needs_command" -f -a "man" -d 'Print the man page ledwall(1) on stdout, or write it and one page per subcommand (ledwall-play(1), ...) into --dir'
complete -c ledwall -n "__fish_ledwall_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ledwall -n "__fish_ledwall_using_subcommand play" -l wall -d 'The wall file. Default: the built-in demo wall' -r -F
complete -c ledwall -n "__fish_ledwall_using_subcommand play" -l sink -d 'Send output port PORT to URL instead of the wall file\'s sink (repeatable): null, file:PATH, preview:PATH, ddp://HOST, artnet://HOST?universe=N, sacn://HOST?universe=N&sync=U&priority=P, sacn://?universe=N&iface=IFACE, colorlight://IFACE, display:MONITOR' -r
complete -c ledwall -n "__fish_ledwall_using_subcommand play" -l backend -d 'Render backend (as for render)' -r -f -a "auto\t'GPU on a hardware adapter, else CPU'
cpu\t'The CPU reference backend (rayon)'
gpu\t'The wgpu compute backend, on any adapter (software ones included)'"
complete -c ledwall -n "__fish_ledwall_using_subcommand play" -l adapter -d 'Graphics adapter for the GPU backend (part of its name)' -r
complete -c ledwall -n "__fish_ledwall_using_subcommand play" -l for -d 'Stop after this many seconds (rounded to whole ticks). Default: until Ctrl-C or SIGTERM' -r
complete -c ledwall -n "__fish_ledwall_using_subcommand play" -l stats -d 'Write the statistics as JSON to FILE, and every tick (lateness, new / repeated / dropped, queue depth, send time) as CSV to FILE with the extension .ticks.csv' -r -F
complete -c ledwall -n "__fish_ledwall_using_subcommand play" -l log-format -d 'Log lines on stderr as text or as JSON objects (RUST_LOG filters; default info)' -r -f -a "text\t'Human-readable lines'
json\t'One JSON object a line'"
complete -c ledwall -n "__fish_ledwall_using_subcommand play" -l max-pixels -d 'Refuse images with more pixels than this, before decoding them' -r
complete -c ledwall -n "__fish_ledwall_using_subcommand play" -l max-memory -d 'Refuse media whose decoded pixels need more memory than this many MiB (all frames of an animation together), checked before they are decoded' -r
complete -c ledwall -n "__fish_ledwall_using_subcommand play" -l hwaccel -d 'Decode video on the GPU through ffmpeg: `auto` (NVDEC, else VAAPI, when this machine and its ffmpeg have them), `vaapi`, `cuda`, `qsv`, or `off` (software). Given, it wins over `hwaccel` in playlist files; without it and them, software. Without the device, or when decoding with it fails, video is decoded in software and the log says so once' -r
complete -c ledwall -n "__fish_ledwall_using_subcommand play" -l control -d 'Start the control API and page on ADDR (e.g. 127.0.0.1:8080, [::1]:8080, 0.0.0.0:8080). Off unless given. An address other than loopback needs a token' -r
complete -c ledwall -n "__fish_ledwall_using_subcommand play" -l control-token-file -d 'Read the control API\'s bearer token from FILE (else from LEDWALL_CONTROL_TOKEN)' -r -F
complete -c ledwall -n "__fish_ledwall_using_subcommand play" -l content-root -d 'A folder whose playlists the control API may switch to (repeatable); the started playlist\'s folder always is one' -r -F
complete -c ledwall -n "__fish_ledwall_using_subcommand play" -l fallback -d 'What to show while the playlist file is missing (a share not mounted yet at boot): a still, animation, video or `pattern:` source. The playlist takes over within a second of appearing. Default: the wall\'s background colour (black if none)' -r
complete -c ledwall -n "__fish_ledwall_using_subcommand play" -l epoch -d 'Take tick times from the system clock: tick n is due at RFC3339 + n / refresh_hz (e.g. 2026-12-06T18:00:00Z), so players whose clocks chrony or PTP keep together show the same frame at the same moment. Overrides the playlist\'s `epoch`' -r
complete -c ledwall -n "__fish_ledwall_using_subcommand play" -l multisync -d 'Be an FPP MultiSync master: send start, sync and stop for the item on screen to the MultiSync group 239.70.80.80:32320 (`master`), or to the listed hosts (`master:HOST[:PORT][,HOST[:PORT]...]`, port 32320 unless given). Or be a remote (`remote`): follow the master heard on UDP 32320 (unicast, and the group on every multicast-capable interface); `remote:PORT` listens on another port; `remote:HOST[,HOST...]` follows only packets sent from those hosts\' IPv4 addresses (others are ignored and counted); `remote:PORT,HOST[,HOST...]` does both. A number in the list is the port; hosts take no port (a master\'s source port varies)' -r
complete -c ledwall -n "__fish_ledwall_using_subcommand play" -l multisync-iface -d 'The network interface (a name such as eth1, or one of its IPv4 addresses) MultiSync multicast uses: a master sends to 239.70.80.80 out of it, a remote joins the group on it only. Default: a master sends by the route to 224.0.0.0/4, a remote joins on every interface that is up, multicast-capable and has an IPv4 address' -r
complete -c ledwall -n "__fish_ledwall_using_subcommand play" -l multisync-ttl -d 'Hops a master\'s multicast packets may take (IP TTL, 1 ... 255). Default 1: this subnet only, as FPP sends' -r
complete -c ledwall -n "__fish_ledwall_using_subcommand play" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ledwall -n "__fish_ledwall_using_subcommand render" -l wall -d 'The wall file (TOML, or JSON with a .json extension)' -r -F
complete -c ledwall -n "__fish_ledwall_using_subcommand render" -s i -l input -d 'What to show: an image (PNG 8/16-bit, JPEG, GIF, WebP, BMP, TIFF; alpha composited over the wall\'s background), an animation (GIF, APNG, WebP), a video (through ffmpeg), a folder or glob of images, or a test pattern (pattern:bars, pattern:grid, pattern:ramp, pattern:checker, pattern:line, pattern:gradient, pattern:solid:#RRGGBB)' -r -F
complete -c ledwall -n "__fish_ledwall_using_subcommand render" -l at -d 'Time into an animation, video, sequence or moving pattern, in seconds: the frame on screen at that time is rendered' -r
complete -c ledwall -n "__fish_ledwall_using_subcommand render" -l fps -d 'Frame rate of an image sequence (a folder or glob)' -r
complete -c ledwall -n "__fish_ledwall_using_subcommand render" -l fit -d 'How the image is fitted to the canvas' -r -f -a "contain\t'Scale to fit inside, letterbox with the background'
cover\t'Scale to fill, crop the overflow'
stretch\t'Scale each axis to the canvas'
center\t'No scaling: centre, crop or pad'"
complete -c ledwall -n "__fish_ledwall_using_subcommand render" -l filter -d 'Resampling filter' -r -f -a "nearest\t'Nearest neighbour (pixel art)'
bilinear\t'Bilinear'
catmull-rom\t'Catmull-Rom cubic'
lanczos3\t'Lanczos, 3 lobes'
area\t'Area (box) average, for large downscales'"
complete -c ledwall -n "__fish_ledwall_using_subcommand render" -l backend -d 'Render backend: `auto` takes the GPU on a hardware adapter and the CPU when the only adapter is a software one (lavapipe, llvmpipe) or none; `gpu` forces the GPU path' -r -f -a "auto\t'GPU on a hardware adapter, else CPU'
cpu\t'The CPU reference backend (rayon)'
gpu\t'The wgpu compute backend, on any adapter (software ones included)'"
complete -c ledwall -n "__fish_ledwall_using_subcommand render" -l adapter -d 'Graphics adapter for the GPU backend: a case-insensitive part of its name, as `ledwall info` lists them. `WGPU_BACKEND=vulkan|gl` limits the APIs searched' -r
complete -c ledwall -n "__fish_ledwall_using_subcommand render" -l frame -d 'Display tick to render (moves the temporal dither pattern)' -r
complete -c ledwall -n "__fish_ledwall_using_subcommand render" -l max-pixels -d 'Refuse images with more pixels than this, before decoding them' -r
complete -c ledwall -n "__fish_ledwall_using_subcommand render" -l max-memory -d 'Refuse media whose decoded pixels need more memory than this many MiB (all frames of an animation together), checked before they are decoded' -r
complete -c ledwall -n "__fish_ledwall_using_subcommand render" -l hwaccel -d 'Decode video on the GPU through ffmpeg: `auto` (NVDEC, else VAAPI, when this machine and its ffmpeg have them), `vaapi`, `cuda`, `qsv`, or `off` (software, the default). Without the device, or when decoding with it fails, video is decoded in software and the log says so once' -r
complete -c ledwall -n "__fish_ledwall_using_subcommand render" -s o -l out -d 'Directory for the output files; created if missing' -r -F
complete -c ledwall -n "__fish_ledwall_using_subcommand render" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ledwall -n "__fish_ledwall_using_subcommand validate" -s h -l help -d 'Print help'
complete -c ledwall -n "__fish_ledwall_using_subcommand info" -l colorlight -d 'Instead: send the Colorlight discovery request on this network interface and list the receiving cards that answer (firmware, configured size). Needs CAP_NET_RAW' -r
complete -c ledwall -n "__fish_ledwall_using_subcommand info" -s h -l help -d 'Print help'
complete -c ledwall -n "__fish_ledwall_using_subcommand bench" -l wall -d 'The wall file' -r -F
complete -c ledwall -n "__fish_ledwall_using_subcommand bench" -s i -l input -d 'What to render: any media or `pattern:` source. Default: two synthetic 3840x2160 photographs alternating (the render pipeline without decode cost)' -r
complete -c ledwall -n "__fish_ledwall_using_subcommand bench" -l backend -d 'Render backend' -r -f -a "auto\t'GPU on a hardware adapter, else CPU'
cpu\t'The CPU reference backend (rayon)'
gpu\t'The wgpu compute backend, on any adapter (software ones included)'"
complete -c ledwall -n "__fish_ledwall_using_subcommand bench" -l adapter -d 'Graphics adapter for the GPU backend (part of its name)' -r
complete -c ledwall -n "__fish_ledwall_using_subcommand bench" -l hwaccel -d 'Decode video on the GPU through ffmpeg: `auto` (NVDEC, else VAAPI, when this machine and its ffmpeg have them), `vaapi`, `cuda`, `qsv`, or `off` (software, the default). Without the device, or when decoding with it fails, video is decoded in software and the log says so once' -r
complete -c ledwall -n "__fish_ledwall_using_subcommand bench" -l frames -d 'Frames timed in each run (after the warm-up)' -r
complete -c ledwall -n "__fish_ledwall_using_subcommand bench" -l warmup -d 'Untimed frames first' -r
complete -c ledwall -n "__fish_ledwall_using_subcommand bench" -l refresh -d 'Refresh rate of the pacing run (default: the wall\'s `refresh_hz`)' -r
complete -c ledwall -n "__fish_ledwall_using_subcommand bench" -l json -d 'Write the figures as JSON' -r -F
complete -c ledwall -n "__fish_ledwall_using_subcommand bench" -l plot -d 'Draw per-frame render times and the lateness histogram into a PNG' -r -F
complete -c ledwall -n "__fish_ledwall_using_subcommand bench" -l cache -d 'Measure the still path: keep the source\'s cache key (by default every frame goes through every stage, as video does)'
complete -c ledwall -n "__fish_ledwall_using_subcommand bench" -l display -d 'Pace into the wall\'s `display:` ports (their windows; needs an X server) instead of null sinks, and report each display\'s present time and the frames it missed'
complete -c ledwall -n "__fish_ledwall_using_subcommand bench" -s q -l quiet -d 'No progress bar'
complete -c ledwall -n "__fish_ledwall_using_subcommand bench" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ledwall -n "__fish_ledwall_using_subcommand preview" -l wall -d 'The wall file' -r -F
complete -c ledwall -n "__fish_ledwall_using_subcommand preview" -s o -l out -d 'Output file: .gif, .png or .apng (animation), .sheet.png (contact sheet), .html (self-contained report)' -r -F
complete -c ledwall -n "__fish_ledwall_using_subcommand preview" -l fps -d 'Preview frames per second of an animation (default 10; at most 50 for GIF). Each frame shows the display tick on screen at its time' -r
complete -c ledwall -n "__fish_ledwall_using_subcommand preview" -l scale -d 'Output pixels per canvas pixel, nearest neighbour (the LED pitch with --led-look). Default: enough for 512 pixels wide (animations) or 240 (contact-sheet frames), at most 8; at least 4 with --led-look' -r
complete -c ledwall -n "__fish_ledwall_using_subcommand preview" -l from -d 'Start of an animation, seconds from the start of the playlist (default 0)' -r
complete -c ledwall -n "__fish_ledwall_using_subcommand preview" -l to -d 'End of an animation, seconds (default: one pass of the playlist after --from)' -r
complete -c ledwall -n "__fish_ledwall_using_subcommand preview" -l schedule -d 'Preview the playlist of [[schedule]] entry N (from 0) instead of the file\'s own items' -r
complete -c ledwall -n "__fish_ledwall_using_subcommand preview" -l backend -d 'Render backend (as for render)' -r -f -a "auto\t'GPU on a hardware adapter, else CPU'
cpu\t'The CPU reference backend (rayon)'
gpu\t'The wgpu compute backend, on any adapter (software ones included)'"
complete -c ledwall -n "__fish_ledwall_using_subcommand preview" -l adapter -d 'Graphics adapter for the GPU backend (part of its name)' -r
complete -c ledwall -n "__fish_ledwall_using_subcommand preview" -l max-pixels -d 'Refuse images with more pixels than this, before decoding them' -r
complete -c ledwall -n "__fish_ledwall_using_subcommand preview" -l max-memory -d 'Refuse media whose decoded pixels need more memory than this many MiB (all frames of an animation together), checked before they are decoded' -r
complete -c ledwall -n "__fish_ledwall_using_subcommand preview" -l contact-sheet -d 'Write a contact sheet (one tile per item: first and middle frame, labelled) to a .png instead of an animation'
complete -c ledwall -n "__fish_ledwall_using_subcommand preview" -l led-look -d 'Draw every LED as a round dot with dark gaps and seams at module edges, the way the wall looks from the floor'
complete -c ledwall -n "__fish_ledwall_using_subcommand preview" -s q -l quiet -d 'No progress bar, no summary, no warnings on the terminal (for scripts)'
complete -c ledwall -n "__fish_ledwall_using_subcommand preview" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ledwall -n "__fish_ledwall_using_subcommand init" -l force -d 'Overwrite files that exist already'
complete -c ledwall -n "__fish_ledwall_using_subcommand init" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ledwall -n "__fish_ledwall_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ledwall -n "__fish_ledwall_using_subcommand man" -l dir -d 'Write ledwall.1 and ledwall-SUBCOMMAND.1 into this folder (created if missing) instead of printing ledwall.1' -r -F
complete -c ledwall -n "__fish_ledwall_using_subcommand man" -s h -l help -d 'Print help'
complete -c ledwall -n "__fish_ledwall_using_subcommand help; and not __fish_seen_subcommand_from play render validate info bench preview init completions man help" -f -a "play" -d 'Play a playlist on a wall at its refresh rate: the main job'
complete -c ledwall -n "__fish_ledwall_using_subcommand help; and not __fish_seen_subcommand_from play render validate info bench preview init completions man help" -f -a "render" -d 'Render one frame of any media (image, animation, image sequence, video, pattern:) into port buffers, their layout and a preview'
complete -c ledwall -n "__fish_ledwall_using_subcommand help; and not __fish_seen_subcommand_from play render validate info bench preview init completions man help" -f -a "validate" -d 'Check wall and playlist files (a playlist with the playlists its schedule names); list every problem with its file and field, and missing media as warnings'
complete -c ledwall -n "__fish_ledwall_using_subcommand help; and not __fish_seen_subcommand_from play render validate info bench preview init completions man help" -f -a "info" -d 'Show the version, the backends built in, the CPU features found, the media formats that decode, the monitors (for display: sinks) and the network interfaces (for colorlight:// sinks)'
complete -c ledwall -n "__fish_ledwall_using_subcommand help; and not __fish_seen_subcommand_from play render validate info bench preview init completions man help" -f -a "bench" -d 'Measure the real pipeline on this machine: throughput (decode → render → null sink), per-stage p50/p99, latency, pacer lateness at the refresh rate, allocations per frame, peak RSS, and the memory-bandwidth floor'
complete -c ledwall -n "__fish_ledwall_using_subcommand help; and not __fish_seen_subcommand_from play render validate info bench preview init completions man help" -f -a "preview" -d 'Show what the wall will show, without the wall: an animated GIF or APNG, a contact sheet or an HTML report of a playlist, rendered through the real pipeline and the emulator (quantization, dithering, brightness and module layout included)'
complete -c ledwall -n "__fish_ledwall_using_subcommand help; and not __fish_seen_subcommand_from play render validate info bench preview init completions man help" -f -a "init" -d 'Write the demo wall, playlist and media into DIR as files to start a show from: DIR/wall.toml, DIR/playlist.toml and DIR/media/'
complete -c ledwall -n "__fish_ledwall_using_subcommand help; and not __fish_seen_subcommand_from play render validate info bench preview init completions man help" -f -a "completions" -d 'Print the shell completion script for SHELL on stdout'
complete -c ledwall -n "__fish_ledwall_using_subcommand help; and not __fish_seen_subcommand_from play render validate info bench preview init completions man help" -f -a "man" -d 'Print the man page ledwall(1) on stdout, or write it and one page per subcommand (ledwall-play(1), ...) into --dir'
complete -c ledwall -n "__fish_ledwall_using_subcommand help; and not __fish_seen_subcommand_from play render validate info bench preview init completions man help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
