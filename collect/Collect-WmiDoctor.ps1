<#
.SYNOPSIS
    Collects the evidence wmidoctor needs to diagnose WMI on this host, into a folder and a .zip.

.DESCRIPTION
    Read-only: nothing on the host is changed. WMI is queried only while the Winmgmt service is already
    running (a query would start it). The optional -ShadowCopy creates one volume shadow copy to copy the
    repository from, and removes it afterwards.
    Bounded in time: every external program and every WMI call runs with a time limit, each step has a
    time budget (-StepTimeoutSeconds) and the whole collection one more (-TotalTimeoutSeconds); a hung WMI
    cannot hang the collector. A step that fails or runs out of time is recorded in manifest.json with the
    reason, and the collection goes on, so event logs, registry exports, file listings and service facts
    are collected even when WMI itself is dead.
    No passwords, hashes or keys are collected (no SAM or SECURITY hive, no LSA secrets, no environment;
    event consumer properties that hold credentials are left out). Event logs are exported with filters:
    only the events wmidoctor reads, of the last -LogDays days. Every artifact that can carry a command line
    or a consumer (the WMI-Activity, System, Sysmon and Security logs, exported as XML for this; third-party
    Autorecover MOFs; service keys; subscriptions) has passwords of known forms masked, and service
    Environment values are left out. manifest.json lists the personal data the bundle holds (host name, user
    names and SIDs in logs and security descriptors, IP addresses, command lines of event consumers).

    Analyse the result anywhere with:  wmidoctor diagnose <folder or .zip>
    Written for Windows PowerShell 5.1 (Windows Server 2012 R2 to 2025, Windows 10 and 11); run it
    elevated for complete results. A 32-bit PowerShell on 64-bit Windows starts the 64-bit one.

.PARAMETER OutputPath
    The bundle folder to create (it must not exist). The .zip is written beside it as <OutputPath>.zip.

.PARAMETER ShadowCopy
    Also copy the repository (wbem\Repository) through a volume shadow copy (elevated prompt needed).

.PARAMETER StepTimeoutSeconds
    Time budget of each step (default 120 seconds); the three steps that query every namespace get three
    times as much.

.PARAMETER TotalTimeoutSeconds
    Time budget of the whole collection (default 1800 seconds); steps not started by then are recorded
    as timed out, and the manifest and the .zip are still written.

.PARAMETER NoZip
    Leave the folder only; do not write the .zip.

.PARAMETER LogDays
    Export the events of the last LogDays days (default 30; 0 exports the whole of each log).

.PARAMETER Check
    Pre-flight only: report language mode, execution policy, elevation, bitness, free disk space at the
    output folder and the state of the WMI service, then exit without collecting or writing anything.

.PARAMETER WhatIf
    List every command and query the collection would run, each with what it does to the host, then exit
    without running any of them.

.EXAMPLE
    powershell.exe -NoProfile -ExecutionPolicy Bypass -File .\Collect-WmiDoctor.ps1 -OutputPath C:\Temp\wmi-bundle

.EXAMPLE
    powershell.exe -NoProfile -ExecutionPolicy Bypass -File .\Collect-WmiDoctor.ps1 -Check
#>
[CmdletBinding(SupportsShouldProcess = $true)]
param(
    [string]$OutputPath = '',
    [switch]$ShadowCopy,
    [ValidateRange(5, 3600)]
    [int]$StepTimeoutSeconds = 120,
    [ValidateRange(60, 86400)]
    [int]$TotalTimeoutSeconds = 1800,
    [switch]$NoZip,
    [ValidateRange(0, 86400)]
    [int]$TraceSeconds = 0,
    [switch]$TraceUntilKey,
    [switch]$TraceEtl,
    [ValidateRange(1, 4096)]
    [int]$TraceMaxMB = 256,
    [ValidateRange(0, 3650)]
    [int]$LogDays = 30,
    [switch]$Check
)

if ($ExecutionContext.SessionState.LanguageMode -ne 'FullLanguage') {
    # AppLocker or WDAC put this session in a restricted language mode: the .NET calls the collector needs fail.
    $Host.UI.WriteErrorLine("Collect-WmiDoctor needs FullLanguage mode; this session runs in $($ExecutionContext.SessionState.LanguageMode). Run it where policy allows (a signed copy, or an exempt admin session).")
    exit 2
}
$ErrorActionPreference = 'Stop'
$Invariant = [System.Globalization.CultureInfo]::InvariantCulture
$Started = [DateTime]::UtcNow
$RunDeadline = $Started.AddSeconds($TotalTimeoutSeconds)

if (-not $OutputPath) {
    # An elevated prompt starts in System32: the bundle goes to the temporary folder rather than into Windows.
    $here = (Get-Location -PSProvider FileSystem).ProviderPath
    if ($here.StartsWith($env:SystemRoot, [StringComparison]::OrdinalIgnoreCase)) { $here = [System.IO.Path]::GetTempPath() }
    $OutputPath = Join-Path $here ('wmidoctor-bundle-' + $Started.ToString('yyyyMMddTHHmmssZ', $Invariant))
}
# A full file-system path (relative to the current location; no wildcards), without a trailing separator.
try { $OutputPath = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($OutputPath).TrimEnd('\') }
catch { $Host.UI.WriteErrorLine("-OutputPath ${OutputPath}: $($_.Exception.Message)"); exit 2 }

if ([Environment]::Is64BitOperatingSystem -and -not [Environment]::Is64BitProcess) {
    # A 32-bit PowerShell sees the 32-bit registry view and SysWOW64 in place of System32: run the 64-bit one.
    $native = Join-Path $env:SystemRoot 'Sysnative\WindowsPowerShell\v1.0\powershell.exe'
    $arguments = @('-NoProfile', '-ExecutionPolicy', 'Bypass', '-File', $PSCommandPath, '-OutputPath', $OutputPath,
        '-StepTimeoutSeconds', $StepTimeoutSeconds, '-TotalTimeoutSeconds', $TotalTimeoutSeconds)
    if ($ShadowCopy) { $arguments += '-ShadowCopy' }
    if ($NoZip) { $arguments += '-NoZip' }
    if ($WhatIfPreference) { $arguments += '-WhatIf' }
    foreach ($name in 'TraceSeconds', 'TraceUntilKey', 'TraceEtl', 'TraceMaxMB', 'LogDays', 'Check') { if ($PSBoundParameters.ContainsKey($name)) { $arguments += ('-{0}:{1}' -f $name, $PSBoundParameters[$name]) } }
    & $native @arguments
    exit $LASTEXITCODE
}

$CollectorVersion = '0.4.0'
$BundleSchema = 'wmidoctor.bundle/1'
$JsonDepth = 10
$WmiServices = @('Winmgmt', 'RpcSs', 'DcomLaunch', 'RpcEptMapper')
$MaxNamespaces = 1000
$System32 = Join-Path $env:SystemRoot 'System32'
# Event consumer properties never copied: they may hold credentials.
$SecretPropertyPattern = 'Password|Credential|Secret|Token|Key$'
$MaxMofCopyBytes = 16 * 1024 * 1024
# A log exported as masked XML keeps at most its newest MaxMaskedEvents events of the window.
$MaxMaskedEvents = 50000
# Registry values never exported: a service's Environment may hold credentials.
$DroppedRegistryValues = @('Environment')

# BEGIN ARTIFACTS (generated from src/wmidoctor/sources/artifacts.py; do not edit by hand)
$Artifacts = [ordered]@{
    Manifest              = @{ Name = 'manifest.json'; RegistryKey = ''; Personal = @('host name', 'user name of the collector') }
    WmiActivityLog        = @{ Name = 'logs/Microsoft-Windows-WMI-Activity%4Operational.xml'; RegistryKey = ''; Personal = @('host name', 'user names and SIDs', 'IP addresses'); Query = ''; Masked = $true }
    ApplicationLog        = @{ Name = 'logs/Application.evtx'; RegistryKey = ''; Personal = @('host name', 'user names and SIDs', 'IP addresses'); Query = 'Provider[@Name=''Microsoft-Windows-WMI'' or @Name=''WinMgmt'' or @Name=''Microsoft-Windows-WMIAdapter'' or @Name=''WMIAdapter''] or (Provider[@Name=''Microsoft-Windows-Perflib'' or @Name=''Perflib''] and ((EventID>=1008 and EventID<=1011) or EventID=1017 or (EventID>=1022 and EventID<=1023) or EventID=2003))'; Masked = $false }
    SystemLog             = @{ Name = 'logs/System.xml'; RegistryKey = ''; Personal = @('host name', 'user names and SIDs', 'IP addresses'); Query = '(Provider[@Name=''Microsoft-Windows-DistributedCOM'' or @Name=''DCOM''] and ((EventID>=10005 and EventID<=10006) or (EventID>=10009 and EventID<=10010) or EventID=10016 or EventID=10028 or (EventID>=10036 and EventID<=10038))) or (Provider[@Name=''Service Control Manager''] and ((EventID>=7000 and EventID<=7045)))'; Masked = $true }
    SysmonLog             = @{ Name = 'logs/Microsoft-Windows-Sysmon%4Operational.xml'; RegistryKey = ''; Personal = @('host name', 'user names and SIDs', 'IP addresses'); Query = 'EventID=1 or EventID=5 or (EventID>=19 and EventID<=21)'; Masked = $true }
    SecurityLog           = @{ Name = 'logs/Security.xml'; RegistryKey = ''; Personal = @('host name', 'user names and SIDs', 'IP addresses'); Query = 'EventID=4624 or (EventID>=4688 and EventID<=4689)'; Masked = $true }
    RegWbem               = @{ Name = 'registry/wbem.reg'; RegistryKey = 'HKLM\SOFTWARE\Microsoft\Wbem'; Personal = @() }
    RegOle                = @{ Name = 'registry/ole.reg'; RegistryKey = 'HKLM\SOFTWARE\Microsoft\Ole'; Personal = @('account SIDs') }
    RegRpc                = @{ Name = 'registry/rpc.reg'; RegistryKey = 'HKLM\SOFTWARE\Microsoft\Rpc'; Personal = @() }
    RegRpcPolicy          = @{ Name = 'registry/rpc-policy.reg'; RegistryKey = 'HKLM\SOFTWARE\Policies\Microsoft\Windows NT\Rpc'; Personal = @() }
    RegWmiAppId           = @{ Name = 'registry/wmi-appid.reg'; RegistryKey = 'HKLM\SOFTWARE\Classes\AppID\{8BC3F05E-D86B-11D0-A075-00C04FB68820}'; Personal = @('account SIDs') }
    RegProviderClsids     = @{ Name = 'registry/provider-clsids.reg'; RegistryKey = 'HKLM\SOFTWARE\Classes\CLSID'; Personal = @() }
    RegUacPolicy          = @{ Name = 'registry/uac-policy.reg'; RegistryKey = 'HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System'; Personal = @() }
    RegHostIdentity       = @{ Name = 'registry/host-identity.reg'; RegistryKey = 'HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion'; Personal = @('host name', 'domain name') }
    RegDcomPolicy         = @{ Name = 'registry/dcom-policy.reg'; RegistryKey = 'HKLM\SOFTWARE\Policies\Microsoft\Windows NT\DCOM'; Personal = @('account SIDs') }
    RegWmiHelperAppIds    = @{ Name = 'registry/wmi-helper-appids.reg'; RegistryKey = 'HKLM\SOFTWARE\Classes\AppID'; Personal = @('account SIDs'); Subkeys = @('{73E709EA-5D93-4B2E-BBB0-99B7938DA9E4}', '{1F87137D-0E7C-44D5-8C73-4EFFB68962F2}', '{49BD2028-1523-11D1-AD79-00C04FD8FDFF}', 'unsecapp.exe', 'WmiPrvSE.exe') }
    RegSvchost            = @{ Name = 'registry/svchost.reg'; RegistryKey = 'HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Svchost'; Personal = @() }
    RegWinRM              = @{ Name = 'registry/winrm.reg'; RegistryKey = 'HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\WSMAN'; Personal = @() }
    RegWinRMPolicy        = @{ Name = 'registry/winrm-policy.reg'; RegistryKey = 'HKLM\SOFTWARE\Policies\Microsoft\Windows\WinRM'; Personal = @() }
    RegLsa                = @{ Name = 'registry/lsa.reg'; RegistryKey = 'HKLM\SYSTEM\CurrentControlSet\Control\Lsa'; Personal = @() }
    RegServices           = @{ Name = 'registry/services.reg'; RegistryKey = 'HKLM\SYSTEM\CurrentControlSet\Services'; Personal = @() }
    RegFirewallPolicy     = @{ Name = 'registry/firewall-policy.reg'; RegistryKey = 'HKLM\SYSTEM\CurrentControlSet\Services\SharedAccess\Parameters\FirewallPolicy'; Personal = @() }
    RegFirewallGpo        = @{ Name = 'registry/firewall-gpo.reg'; RegistryKey = 'HKLM\SOFTWARE\Policies\Microsoft\WindowsFirewall'; Personal = @() }
    VerifyRepository      = @{ Name = 'commands/winmgmt-verifyrepository.txt'; RegistryKey = ''; Personal = @() }
    ScQcWinmgmt           = @{ Name = 'commands/sc-qc-winmgmt.txt'; RegistryKey = ''; Personal = @() }
    ScQueryExWinmgmt      = @{ Name = 'commands/sc-queryex-winmgmt.txt'; RegistryKey = ''; Personal = @() }
    ScSdShowWinmgmt       = @{ Name = 'commands/sc-sdshow-winmgmt.txt'; RegistryKey = ''; Personal = @('account SIDs') }
    ScQcRpcSs             = @{ Name = 'commands/sc-qc-rpcss.txt'; RegistryKey = ''; Personal = @() }
    ScQueryExRpcSs        = @{ Name = 'commands/sc-queryex-rpcss.txt'; RegistryKey = ''; Personal = @() }
    ScSdShowRpcSs         = @{ Name = 'commands/sc-sdshow-rpcss.txt'; RegistryKey = ''; Personal = @('account SIDs') }
    ScQcDcomLaunch        = @{ Name = 'commands/sc-qc-dcomlaunch.txt'; RegistryKey = ''; Personal = @() }
    ScQueryExDcomLaunch   = @{ Name = 'commands/sc-queryex-dcomlaunch.txt'; RegistryKey = ''; Personal = @() }
    ScSdShowDcomLaunch    = @{ Name = 'commands/sc-sdshow-dcomlaunch.txt'; RegistryKey = ''; Personal = @('account SIDs') }
    ScQcRpcEptMapper      = @{ Name = 'commands/sc-qc-rpceptmapper.txt'; RegistryKey = ''; Personal = @() }
    ScQueryExRpcEptMapper = @{ Name = 'commands/sc-queryex-rpceptmapper.txt'; RegistryKey = ''; Personal = @() }
    ScSdShowRpcEptMapper  = @{ Name = 'commands/sc-sdshow-rpceptmapper.txt'; RegistryKey = ''; Personal = @('account SIDs') }
    FirewallRules         = @{ Name = 'commands/netsh-firewall-rules.txt'; RegistryKey = ''; Personal = @() }
    FirewallProfiles      = @{ Name = 'commands/netsh-firewall-profiles.txt'; RegistryKey = ''; Personal = @() }
    RpcDynamicPorts       = @{ Name = 'commands/netsh-dynamicport-tcp.txt'; RegistryKey = ''; Personal = @() }
    RepositoryListing     = @{ Name = 'files/repository.json'; RegistryKey = ''; Personal = @() }
    AutorecoverListing    = @{ Name = 'files/autorecover-mofs.json'; RegistryKey = ''; Personal = @() }
    WinmgmtHost           = @{ Name = 'files/winmgmt-host.json'; RegistryKey = ''; Personal = @() }
    ProviderBinaries      = @{ Name = 'files/provider-binaries.json'; RegistryKey = ''; Personal = @() }
    WmiIdentity           = @{ Name = 'wmi/identity.json'; RegistryKey = ''; Personal = @('host name', 'domain name') }
    WmiNamespaces         = @{ Name = 'wmi/namespaces.json'; RegistryKey = ''; Personal = @('account SIDs') }
    WmiProviders          = @{ Name = 'wmi/providers.json'; RegistryKey = ''; Personal = @() }
    WmiQuotas             = @{ Name = 'wmi/quotas.json'; RegistryKey = ''; Personal = @() }
    WmiProviderHosts      = @{ Name = 'wmi/provider-hosts.json'; RegistryKey = ''; Personal = @('user names') }
    WmiSubscriptions      = @{ Name = 'wmi/subscriptions.json'; RegistryKey = ''; Personal = @('account SIDs', 'command lines') }
    RepositoryCopy        = @{ Name = 'repository'; RegistryKey = ''; Personal = @('anything applications stored in WMI') }
    WmiActivityTrace      = @{ Name = 'trace/Microsoft-Windows-WMI-Activity%4Trace.evtx'; RegistryKey = ''; Personal = @('host name', 'user names', 'WMI queries of every client') }
    WmiTraceSession       = @{ Name = 'trace/wmi-trace.etl'; RegistryKey = ''; Personal = @('host name', 'user names', 'WMI queries of every client') }
}
# END ARTIFACTS

# BEGIN PURE FUNCTIONS (no host access; collect/tests/Collector.Tests.ps1 tests them as a module)
$MaxPropertyChars = 8192
# BEGIN SECRET FORMS (generated from src/wmidoctor/knowledge/secret_patterns.tsv; do not edit by hand)
$SecretMask = '[masked]'
$SecretPatterns = @(
    '(?<pre>(?:\b(?:password|passwd|pwd|passphrase|secret|client_secret|token|apikey|api_key|access_key)\s*[:=]\s*)(?<open>\\?[\"'']|&#34;|&#39;|&quot;)?)(?<secret>[^\s"''\\<>&]+)'
    '(?<pre>(?:-(?:Password|Passphrase|Credential|Token|AccessToken|Secret)\s+)(?<open>\\?[\"'']|&#34;|&#39;|&quot;)?)(?<secret>[^\s"''\\<>&]+)'
    '(?<pre>(?:ConvertTo-SecureString\s+(?:-String\s+)?)(?<open>\\?[\"'']|&#34;|&#39;|&quot;)?)(?<secret>[^\s"''\\<>&]+)'
    '(?<pre>(?:\bnet(?:\.exe)?\s+use\s+\S+\s+(?=[^\s/]+\s+/user:))(?<open>\\?[\"'']|&#34;|&#39;|&quot;)?)(?<secret>[^\s"''\\<>&]+)'
    '(?<pre>(?:\s/p(?:assword)?:)(?<open>\\?[\"'']|&#34;|&#39;|&quot;)?)(?<secret>[^\s"''\\<>&]+)'
    '(?<pre>(?:(?:\s-u|\s--user)\s+[^\s:]+:)(?<open>\\?[\"'']|&#34;|&#39;|&quot;)?)(?<secret>[^\s"''\\<>&]+)'
    '(?<pre>(?:\b[a-z][a-z0-9+.-]*://[^\s:/@]+:(?=[^\s/@]+@))(?<open>\\?[\"'']|&#34;|&#39;|&quot;)?)(?<secret>[^\s"''\\<>&@]+)'
    '(?<pre>(?:\bAuthorization:\s*(?:Basic|Bearer|NTLM|Negotiate|Digest)\s+)(?<open>\\?[\"'']|&#34;|&#39;|&quot;)?)(?<secret>[^\s"''\\<>&]+)'
)
# END SECRET FORMS

function ConvertTo-MaskedText {
    <# Text with every secret of a known form (the generated $SecretPatterns) replaced by $SecretMask; what
       comes before a secret is kept. #>
    param([string]$Text)
    if (-not $Text) { return $Text }
    foreach ($pattern in $SecretPatterns) { $Text = $Text -replace $pattern, ('${pre}' + $SecretMask) }
    return $Text
}

function ConvertTo-SafeText {
    <# A consumer property as text with secrets masked, cut at $MaxPropertyChars. #>
    param($Value)
    $text = if ($Value -is [array]) { @($Value | ForEach-Object { [string]$_ }) -join ' ' } else { [string]$Value }
    $text = ConvertTo-MaskedText $text
    if ($text.Length -gt $MaxPropertyChars) { $text = $text.Substring(0, $MaxPropertyChars) + ' <cut>' }
    return $text
}

function Get-EventQuery {
    <# The XPath query of a log export: the artifact's event selector and, when Days > 0, events of the last
       Days days only. #>
    param([string]$Selector, [int]$Days)
    $tests = @()
    if ($Selector) { $tests += "($Selector)" }
    if ($Days -gt 0) { $tests += ('TimeCreated[timediff(@SystemTime) <= {0}]' -f ([long]$Days * 86400000)) }
    if ($tests.Count -eq 0) { return '*' }
    return '*[System[' + ($tests -join ' and ') + ']]'
}

function Remove-RegistryValueLines {
    <# .reg export text without the named values (a value's continuation lines, ending in a backslash,
       go with it). #>
    param([string]$Text, [string[]]$Names)
    $kept = New-Object System.Text.StringBuilder
    $dropping = $false
    foreach ($line in ($Text -split "`r`n")) {
        if ($dropping) {
            $dropping = $line.EndsWith('\')
            continue
        }
        $name = if ($line -match '^"((?:[^"\\]|\\.)*)"=') { $Matches[1] -replace '\\(.)', '$1' } else { $null }
        if ($null -ne $name -and $Names -contains $name) {
            $dropping = $line.EndsWith('\')
            continue
        }
        [void]$kept.Append($line).Append("`r`n")
    }
    return $kept.ToString().Substring(0, [Math]::Max(0, $kept.Length - 2))
}

function ConvertTo-RegLine {
    <# One value as a .reg line: REG_DWORD as dword:, anything else as a string. #>
    param([string]$Name, $Value)
    if ($Value -is [int]) { return ('"{0}"=dword:{1:x8}' -f $Name, [BitConverter]::ToUInt32([BitConverter]::GetBytes($Value), 0)) }
    return ('"{0}"="{1}"' -f $Name, ([string]$Value -replace '\\', '\\' -replace '"', '\"'))
}
# END PURE FUNCTIONS

$script:Entries = New-Object System.Collections.ArrayList
$script:StepDeadline = $RunDeadline
$script:QueryRunspace = $null
$script:WmiAlive = $false
$script:WmiError = ''
$script:WmiHung = ''
$script:Namespaces = @()
$script:ProviderClsids = @()

# --- helpers -------------------------------------------------------------------------------------

function Exit-WithUsageError {
    param([string]$Message)
    $Host.UI.WriteErrorLine($Message)
    exit 2
}

function Get-ArtifactPath {
    param([Parameter(Mandatory = $true)][string]$Key)
    $path = Join-Path $OutputPath ($Artifacts[$Key].Name -replace '/', '\')
    [void][System.IO.Directory]::CreateDirectory((Split-Path -Parent $path))
    return $path
}

function Add-Entry {
    param([string]$Key, [string]$Status, [string]$Message = '', [long]$DurationMs = 0, $ExitCode = $null)
    $entry = [ordered]@{
        name        = $Artifacts[$Key].Name
        status      = $Status
        error       = $Message
        duration_ms = $DurationMs
    }
    if ($null -ne $ExitCode) { $entry.exit_code = [long]$ExitCode }
    [void]$script:Entries.Add($entry)
    Write-Verbose ('{0,-45} {1} {2}' -f $Artifacts[$Key].Name, $Status, $Message)
}

function Format-Time {
    param([DateTime]$Time)
    return $Time.ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ssZ', $Invariant)
}

function Write-Utf8File {
    param([string]$Path, [string]$Text)
    [System.IO.File]::WriteAllText($Path, $Text, (New-Object System.Text.UTF8Encoding $false))
}

function Write-JsonArtifact {
    param([string]$Key, $Data)
    Write-Utf8File -Path (Get-ArtifactPath $Key) -Text (ConvertTo-Json -InputObject $Data -Depth $JsonDepth)
}

function Get-TimeLimitMs {
    <# Milliseconds left in the current step (at most $Seconds when given); throws when none are left. #>
    param([int]$Seconds = 0)
    $left = ($script:StepDeadline - [DateTime]::UtcNow).TotalMilliseconds
    if ($Seconds -gt 0 -and $Seconds * 1000 -lt $left) { $left = $Seconds * 1000 }
    if ($left -lt 1) { throw 'timeout: the time budget of this step was used up' }
    return [int]$left
}

function Test-TimeLeft {
    return [DateTime]::UtcNow -lt $script:StepDeadline
}

function Invoke-Step {
    <# Run one collection step within its time budget; an error is recorded against the artifact and never
       stops the collection. The body may return @{ Status; Message; ExitCode } to qualify an 'ok'. #>
    param([string]$Key, [scriptblock]$Body, [int]$TimeoutSeconds = $StepTimeoutSeconds)
    if ([DateTime]::UtcNow -ge $RunDeadline) {
        Add-Entry -Key $Key -Status 'timeout' -Message ('not run: the collection used up its time budget of {0} s (-TotalTimeoutSeconds)' -f $TotalTimeoutSeconds)
        return
    }
    $script:StepDeadline = [DateTime]::UtcNow.AddSeconds($TimeoutSeconds)
    if ($script:StepDeadline -gt $RunDeadline) { $script:StepDeadline = $RunDeadline }
    Write-Progress -Activity 'wmidoctor: collecting WMI evidence' -Status $Artifacts[$Key].Name
    $watch = [System.Diagnostics.Stopwatch]::StartNew()
    try {
        $result = @(& $Body) | Where-Object { $_ -is [hashtable] } | Select-Object -Last 1
        $status = 'ok'; $message = ''; $exitCode = $null
        if ($null -ne $result) {
            if ($result.ContainsKey('Status')) { $status = $result.Status }
            if ($result.ContainsKey('Message')) { $message = $result.Message }
            if ($result.ContainsKey('ExitCode')) { $exitCode = $result.ExitCode }
        }
        Add-Entry -Key $Key -Status $status -Message $message -DurationMs $watch.ElapsedMilliseconds -ExitCode $exitCode
    }
    catch {
        $text = ($_.Exception.Message -replace '\s+', ' ').Trim()
        $status = if ($text -like 'timeout*' -or $text -match 'timed out') { 'timeout' } else { 'failed' }
        Add-Entry -Key $Key -Status $status -Message $text -DurationMs $watch.ElapsedMilliseconds
    }
    finally {
        $script:StepDeadline = $RunDeadline
    }
}

function Get-ConsoleEncoding {
    <# The encoding console programs write in: the console's output code page (PowerShell reads native
       output the same way), else the OEM code page. #>
    try { return [Console]::OutputEncoding }
    catch { return [System.Text.Encoding]::GetEncoding([System.Globalization.CultureInfo]::CurrentCulture.TextInfo.OEMCodePage) }
}

function Invoke-Native {
    <# Run a program (full path) within the step's time budget; returns @{ ExitCode; Output } (stdout then
       stderr). A program still running at the limit is stopped. #>
    param([string]$FilePath, [string]$Arguments, [int]$TimeoutSeconds = 0)
    $limitMs = Get-TimeLimitMs $TimeoutSeconds
    $info = New-Object System.Diagnostics.ProcessStartInfo
    $info.FileName = $FilePath
    $info.Arguments = $Arguments
    $info.UseShellExecute = $false
    $info.CreateNoWindow = ($Host.Name -ne 'ConsoleHost')  # share the console when there is one
    $info.RedirectStandardInput = $true
    $info.RedirectStandardOutput = $true
    $info.RedirectStandardError = $true
    $info.StandardOutputEncoding = Get-ConsoleEncoding
    $info.StandardErrorEncoding = $info.StandardOutputEncoding
    $process = [System.Diagnostics.Process]::Start($info)
    try {
        $process.StandardInput.Close()  # a program that prompts gets end-of-input, not the keyboard
        $stdout = $process.StandardOutput.ReadToEndAsync()
        $stderr = $process.StandardError.ReadToEndAsync()
        if (-not $process.WaitForExit($limitMs)) {
            try { $process.Kill() } catch { Write-Verbose "could not stop $FilePath" }
            throw ('timeout: {0} {1} did not finish within {2} s' -f [System.IO.Path]::GetFileName($FilePath), $Arguments, [int]($limitMs / 1000))
        }
        $process.WaitForExit()
        # An HRESULT exit code (winmgmt) is negative as Int32: kept as the unsigned value Windows documents.
        $code = [BitConverter]::ToUInt32([BitConverter]::GetBytes([int]$process.ExitCode), 0)
        return @{ ExitCode = $code; Output = ($stdout.Result + $stderr.Result) }
    }
    finally {
        $process.Dispose()
    }
}

function Invoke-Bounded {
    <# Run a self-contained script block in a separate runspace and wait at most the step's remaining time
       (or TimeoutSeconds): a WMI call can hang whatever its own timeout says. A runspace left hanging is
       abandoned and the next call gets a fresh one. -Cleanup waits TimeoutSeconds even when the step's
       budget is used up (removing what the collector created must not be skipped). #>
    param([scriptblock]$ScriptBlock, [object[]]$ArgumentList = @(), [int]$TimeoutSeconds = 0, [switch]$Cleanup)
    $limitMs = if ($Cleanup) { $TimeoutSeconds * 1000 } else { Get-TimeLimitMs $TimeoutSeconds }
    if ($null -eq $script:QueryRunspace) {
        $script:QueryRunspace = [RunspaceFactory]::CreateRunspace()
        $script:QueryRunspace.Open()
    }
    $shell = [PowerShell]::Create()
    $shell.Runspace = $script:QueryRunspace
    [void]$shell.AddScript($ScriptBlock.ToString())
    foreach ($argument in $ArgumentList) { [void]$shell.AddArgument($argument) }
    $handle = $shell.BeginInvoke()
    if (-not $handle.AsyncWaitHandle.WaitOne($limitMs)) {
        [void]$shell.BeginStop($null, $null)
        $script:QueryRunspace = $null
        throw ('timeout: no answer within {0} s' -f [int]($limitMs / 1000))
    }
    try {
        $output = @($shell.EndInvoke($handle))
        if ($shell.HadErrors -and $output.Count -eq 0 -and $shell.Streams.Error.Count -gt 0) {
            throw $shell.Streams.Error[0].Exception.Message
        }
        return $output
    }
    catch {
        $problem = $_.Exception
        if ($problem -is [System.Management.Automation.MethodInvocationException] -and $problem.InnerException) { $problem = $problem.InnerException }
        if ($problem -is [System.Management.Automation.IContainsErrorRecord] -and $problem.ErrorRecord.Exception) { $problem = $problem.ErrorRecord.Exception }
        throw $problem.Message
    }
    finally {
        $shell.Dispose()
    }
}

function Get-SystemProgram {
    param([string]$Name)
    return Join-Path $System32 $Name
}

# --- event logs ----------------------------------------------------------------------------------

function Export-EventLog {
    <# The log's WMI-relevant events of the last -LogDays days: as .evtx, or, for a log whose records carry
       command lines or consumers, as XML with secrets masked (an .evtx cannot be masked). #>
    param([string]$Key)
    Invoke-Step $Key {
        $artifact = $Artifacts[$Key]
        $target = Get-ArtifactPath $Key
        $channel = [System.IO.Path]::GetFileNameWithoutExtension($artifact.Name) -replace '%4', '/'
        $query = Get-EventQuery -Selector $artifact.Query -Days $LogDays
        if (-not $artifact.Masked) {
            $run = Invoke-Native (Get-SystemProgram 'wevtutil.exe') ('epl "{0}" "{1}" "/q:{2}" /ow:true' -f $channel, $target, $query)
            if ($run.ExitCode -ne 0) { throw ('wevtutil epl exit {0}: {1}' -f $run.ExitCode, $run.Output.Trim()) }
            return @{ ExitCode = $run.ExitCode }
        }
        $run = Invoke-Native (Get-SystemProgram 'wevtutil.exe') ('qe "{0}" "/q:{1}" /f:xml /rd:true /c:{2}' -f $channel, $query, $MaxMaskedEvents)
        if ($run.ExitCode -ne 0) { throw ('wevtutil qe exit {0}: {1}' -f $run.ExitCode, $run.Output.Trim()) }
        Write-Utf8File -Path $target -Text (ConvertTo-MaskedText $run.Output)
        $count = [regex]::Matches($run.Output, '<Event[ >]').Count
        $message = if ($count -ge $MaxMaskedEvents) { "partial: the newest $count events of the window" } else { "$count events, secrets masked" }
        @{ ExitCode = $run.ExitCode; Message = $message }
    }
}

# --- registry ------------------------------------------------------------------------------------

function Get-RegistryProviderPath {
    param([string]$Key)
    return 'Registry::' + ($Key -replace '^HKLM\\', 'HKEY_LOCAL_MACHINE\')
}

function Test-RegistryKey {
    param([string]$Key)
    return Test-Path -LiteralPath (Get-RegistryProviderPath $Key)
}

function Export-RegistryKeys {
    <# reg.exe export of one or more keys into one UTF-16LE .reg file; `CoverKey` heads the file when set,
       saying the export vouches for that key's subtree (only the listed subkeys exist in it). #>
    param([string]$Target, [string[]]$Keys, [string]$CoverKey = '')
    # Values that may hold credentials are left out and secrets of known forms in the rest masked.
    $scratch = Join-Path $OutputPath '.scratch'
    [void][System.IO.Directory]::CreateDirectory($scratch)
    $body = New-Object System.Text.StringBuilder
    $failures = @()
    $index = 0
    foreach ($key in $Keys) {
        $index++
        $part = Join-Path $scratch ('part{0}.reg' -f $index)
        $run = Invoke-Native (Get-SystemProgram 'reg.exe') ('export "{0}" "{1}" /y' -f $key, $part)
        if ($run.ExitCode -ne 0) { $failures += ('{0}: {1}' -f $key, $run.Output.Trim()); continue }
        $text = [System.IO.File]::ReadAllText($part, [System.Text.Encoding]::Unicode)
        $lines = $text -split "`r`n", 2
        if ($lines.Count -gt 1) { [void]$body.Append($lines[1]) }
        Remove-Item -LiteralPath $part -Force
    }
    if ($Keys.Count -gt 0 -and $failures.Count -eq $Keys.Count) { throw ($failures -join '; ') }
    $head = "Windows Registry Editor Version 5.00`r`n`r`n"
    if ($CoverKey) { $head += ('[{0}]' -f ($CoverKey -replace '^HKLM\\', 'HKEY_LOCAL_MACHINE\')) + "`r`n`r`n" }
    $exported = $body.ToString().TrimStart("`r", "`n")
    $text = ConvertTo-MaskedText (Remove-RegistryValueLines -Text $exported -Names $DroppedRegistryValues)
    [System.IO.File]::WriteAllText($Target, $head + $text, [System.Text.Encoding]::Unicode)
    if ($failures.Count -gt 0) { return @{ Status = 'ok'; Message = ('partial: ' + ($failures -join '; ')) } }
    return @{ Status = 'ok' }
}

function Export-RegistryArtifact {
    param([string]$Key)
    Invoke-Step $Key {
        $registryKey = $Artifacts[$Key].RegistryKey
        if ($Artifacts[$Key].Subkeys) {
            # only the named subkeys: the file vouches for them, not for the whole key
            $keys = @($Artifacts[$Key].Subkeys | ForEach-Object { "$registryKey\$_" } | Where-Object { Test-RegistryKey $_ })
            if ($keys.Count -eq 0) { return @{ Status = 'absent'; Message = "none of the subkeys of $registryKey it exports exists" } }
            return Export-RegistryKeys -Target (Get-ArtifactPath $Key) -Keys $keys
        }
        if (-not (Test-RegistryKey $registryKey)) { return @{ Status = 'absent'; Message = "$registryKey does not exist" } }
        Export-RegistryKeys -Target (Get-ArtifactPath $Key) -Keys @($registryKey)
    }
}

# Registry artifacts written value by value: only these named values, because the keys hold more (CurrentVersion
# the registered owner and organisation, Lsa the parts of the boot key). Read without WMI: there when WMI is dead.
$NamedValues = @{
    RegHostIdentity = [ordered]@{
        'HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion'              = @('ProductName', 'EditionID', 'InstallationType', 'CurrentBuild', 'CurrentBuildNumber', 'UBR', 'CurrentMajorVersionNumber', 'CurrentMinorVersionNumber', 'CurrentVersion', 'DisplayVersion', 'ReleaseId')
        'HKLM\SYSTEM\CurrentControlSet\Control\ComputerName\ComputerName' = @('ComputerName')
        'HKLM\SYSTEM\CurrentControlSet\Control\ProductOptions'           = @('ProductType')
        'HKLM\SYSTEM\CurrentControlSet\Services\Tcpip\Parameters'        = @('Domain', 'NV Domain')
    }
    RegLsa          = [ordered]@{
        'HKLM\SYSTEM\CurrentControlSet\Control\Lsa'         = @('LmCompatibilityLevel', 'RestrictAnonymous', 'RestrictAnonymousSAM', 'EveryoneIncludesAnonymous', 'NoLmHash', 'LimitBlankPasswordUse', 'RestrictRemoteSAM', 'DisableDomainCreds')
        'HKLM\SYSTEM\CurrentControlSet\Control\Lsa\MSV1_0' = @('NtlmMinClientSec', 'NtlmMinServerSec', 'RestrictSendingNTLMTraffic', 'RestrictReceivingNTLMTraffic', 'AuditReceivingNTLMTraffic')
    }
}

function Export-NamedValues {
    param([string]$Key)
    Invoke-Step $Key {
        $lines = New-Object System.Collections.ArrayList
        [void]$lines.Add('Windows Registry Editor Version 5.00')
        foreach ($registryKey in $NamedValues[$Key].Keys) {
            $full = $registryKey -replace '^HKLM', 'HKEY_LOCAL_MACHINE'
            $item = Get-ItemProperty -LiteralPath ('Registry::' + $full) -ErrorAction SilentlyContinue
            if ($null -eq $item) { continue }
            [void]$lines.Add('')
            [void]$lines.Add('[' + $full + ']')
            foreach ($name in $NamedValues[$Key][$registryKey]) {
                if ($null -ne $item.$name) { [void]$lines.Add((ConvertTo-RegLine $name $item.$name)) }
            }
        }
        [System.IO.File]::WriteAllText((Get-ArtifactPath $Key), ($lines -join "`r`n") + "`r`n", [System.Text.Encoding]::Unicode)
    }
}

function Export-ServiceKeys {
    Invoke-Step 'RegServices' {
        $root = $Artifacts['RegServices'].RegistryKey
        $names = New-Object System.Collections.ArrayList
        foreach ($name in $WmiServices) { [void]$names.Add($name) }
        foreach ($service in Get-ChildItem -LiteralPath (Get-RegistryProviderPath $root) -ErrorAction SilentlyContinue) {
            $depends = (Get-ItemProperty -LiteralPath $service.PSPath -Name DependOnService -ErrorAction SilentlyContinue).DependOnService
            if ($depends -and ($depends -contains 'Winmgmt') -and -not ($names -contains $service.PSChildName)) {
                [void]$names.Add($service.PSChildName)
            }
        }
        $keys = @($names | ForEach-Object { "$root\$_" } | Where-Object { Test-RegistryKey $_ })
        if ($keys.Count -eq 0) { throw "none of the service keys under $root could be read" }
        # No cover key: the file vouches for these services (the WMI services and every service depending on
        # Winmgmt), not for the whole Services tree.
        Export-RegistryKeys -Target (Get-ArtifactPath 'RegServices') -Keys $keys
    }
}

function Export-ProviderClsids {
    param([string[]]$Clsids)
    Invoke-Step 'RegProviderClsids' {
        if (-not $script:WmiAlive) { throw "the provider list comes from WMI, which was not queried: $script:WmiError" }
        $root = $Artifacts['RegProviderClsids'].RegistryKey
        # 32-bit providers are registered in the redirected view (WOW6432Node) of the class table.
        $wow = $root -replace '\\CLSID$', '\WOW6432Node\CLSID'
        $keys = @($Clsids | Sort-Object -Unique | ForEach-Object { "$root\$_"; "$wow\$_" } | Where-Object { Test-RegistryKey $_ })
        if ($keys.Count -eq 0) {
            Export-RegistryKeys -Target (Get-ArtifactPath 'RegProviderClsids') -Keys @() -CoverKey $root
            return @{ Status = 'ok'; Message = 'no provider CLSID is registered' }
        }
        Export-RegistryKeys -Target (Get-ArtifactPath 'RegProviderClsids') -Keys $keys -CoverKey $root
    }
}

function Resolve-ServerFile {
    <# The file a COM server registration names: quotes and command-line arguments dropped, environment
       variables expanded; a bare file name is looked up in System32 and System32\wbem. #>
    param([string]$Value)
    $text = [Environment]::ExpandEnvironmentVariables($Value.Trim())
    if ($text.StartsWith('"')) { $text = $text.Substring(1).Split('"')[0] }
    elseif (-not (Test-Path -LiteralPath $text -PathType Leaf) -and $text -match '^(.+?\.(exe|dll))(\s|$)') { $text = $Matches[1] }
    if (-not [System.IO.Path]::IsPathRooted($text)) {
        foreach ($folder in $System32, (Get-WbemFolder)) {
            if (Test-Path -LiteralPath (Join-Path $folder $text) -PathType Leaf) { return Join-Path $folder $text }
        }
    }
    return $text
}

function Save-ProviderBinaries {
    <# Per provider CLSID and server kind: the registered value, the file it names, and whether it exists. #>
    param([string[]]$Clsids)
    Invoke-Step 'ProviderBinaries' {
        if (-not $script:WmiAlive) { throw "the provider list comes from WMI, which was not queried: $script:WmiError" }
        $root = $Artifacts['RegProviderClsids'].RegistryKey
        $servers = New-Object System.Collections.ArrayList
        $errors = New-Object System.Collections.ArrayList
        foreach ($clsid in @($Clsids | Sort-Object -Unique)) {
            foreach ($kind in 'InprocServer32', 'LocalServer32') {
                $key = Get-RegistryProviderPath ('{0}\{1}\{2}' -f $root, $clsid, $kind)
                try {
                    if (-not (Test-Path -LiteralPath $key)) { continue }
                    $value = (Get-Item -LiteralPath $key).GetValue('', $null, 'DoNotExpandEnvironmentNames')
                    if (-not $value) { continue }
                    $file = Resolve-ServerFile ([string]$value)
                    [void]$servers.Add([ordered]@{ clsid = $clsid; kind = $kind; path = [string]$value; file = $file
                            exists = [bool](Test-Path -LiteralPath $file -PathType Leaf) })
                }
                catch { [void]$errors.Add(('{0} {1}: {2}' -f $clsid, $kind, $_.Exception.Message)) }
            }
        }
        Write-JsonArtifact 'ProviderBinaries' ([ordered]@{ servers = @($servers); errors = @($errors) })
    }
}

# --- commands ------------------------------------------------------------------------------------

function Save-CommandOutput {
    param([string]$Key, [string]$FilePath, [string]$Arguments)
    Invoke-Step $Key {
        $run = Invoke-Native $FilePath $Arguments
        Write-Utf8File -Path (Get-ArtifactPath $Key) -Text $run.Output
        @{ ExitCode = $run.ExitCode }
    }
}

# --- files ---------------------------------------------------------------------------------------

function Get-WbemFolder {
    return Join-Path $System32 'wbem'
}

function Get-RepositoryFolder {
    $cimom = Get-ItemProperty -LiteralPath 'Registry::HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Wbem\CIMOM' -ErrorAction SilentlyContinue
    $folder = $null
    if ($cimom -and $cimom.'Repository Directory') { $folder = [Environment]::ExpandEnvironmentVariables($cimom.'Repository Directory') }
    if (-not $folder) { $folder = Join-Path (Get-WbemFolder) 'Repository' }
    return $folder.TrimEnd('\')
}

function Save-RepositoryListing {
    Invoke-Step 'RepositoryListing' {
        $folder = Get-RepositoryFolder
        $errors = @()
        $files = @()
        if (Test-Path -LiteralPath $folder) {
            $files = @(Get-ChildItem -LiteralPath $folder -Recurse -Force -File -ErrorAction SilentlyContinue -ErrorVariable listErrors |
                ForEach-Object {
                    [ordered]@{
                        name     = $_.FullName.Substring($folder.Length + 1)
                        size     = $_.Length
                        modified = Format-Time $_.LastWriteTimeUtc
                    }
                })
            $errors = @($listErrors | ForEach-Object { $_.Exception.Message })
        }
        else {
            $errors += "$folder does not exist or cannot be read"
        }
        $marker = @($folder, (Get-WbemFolder)) | Where-Object { Test-Path -LiteralPath (Join-Path $_ 'Corrupted.rec') }
        Write-JsonArtifact 'RepositoryListing' ([ordered]@{
                directory     = $folder
                files         = $files
                corrupted_rec = [bool]$marker
                errors        = $errors
            })
    }
}

function Copy-AutorecoverMof {
    <# A masked copy of an Autorecover MOF that is not one of Windows' own (outside System32\wbem) in the bundle, named
       <position>-<file name>; returns its bundle path, '' when not copied. #>
    param([string]$File, [int]$Position, $Errors)
    if ($File.StartsWith((Get-WbemFolder) + '\', [StringComparison]::OrdinalIgnoreCase)) { return '' }
    $size = (Get-Item -LiteralPath $File -Force).Length
    if ($size -gt $MaxMofCopyBytes) { [void]$Errors.Add("$File not copied: $size bytes"); return '' }
    $copy = ('{0}/autorecover/{1:D3}-{2}' -f ($Artifacts['AutorecoverListing'].Name -replace '/[^/]*$', ''), $Position, [System.IO.Path]::GetFileName($File))
    $target = Join-Path $OutputPath ($copy -replace '/', '\')
    [void][System.IO.Directory]::CreateDirectory((Split-Path -Parent $target))
    # A third-party MOF may define a consumer with a password: copied as text with secrets masked, in the
    # encoding it was written in (a byte order mark tells; none means the ANSI code page, as the MOF compiler reads it).
    $reader = New-Object System.IO.StreamReader -ArgumentList $File, ([System.Text.Encoding]::Default), $true
    try { $text = $reader.ReadToEnd(); $encoding = $reader.CurrentEncoding } finally { $reader.Dispose() }
    [System.IO.File]::WriteAllText($target, (ConvertTo-MaskedText $text), $encoding)
    return $copy
}

function Save-AutorecoverListing {
    Invoke-Step 'AutorecoverListing' {
        $cimom = Get-ItemProperty -LiteralPath 'Registry::HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Wbem\CIMOM' -ErrorAction Stop
        $errors = New-Object System.Collections.ArrayList
        if ($null -eq $cimom.'Autorecover MOFs') { [void]$errors.Add('the CIMOM key has no Autorecover MOFs value') }
        $position = 0
        $mofs = @($cimom.'Autorecover MOFs' | ForEach-Object {
                $listed = $_
                $position++
                if ($listed) {
                    $expanded = [Environment]::ExpandEnvironmentVariables($listed)
                    $exists = [bool](Test-Path -LiteralPath $expanded -PathType Leaf)
                    $copy = ''
                    if ($exists) {
                        try { $copy = Copy-AutorecoverMof $expanded $position $errors }
                        catch { [void]$errors.Add(('{0} not copied: {1}' -f $expanded, $_.Exception.Message)) }
                    }
                    [ordered]@{ path = $listed; expanded = $expanded; exists = $exists; copy = $copy }
                }
            })
        Write-JsonArtifact 'AutorecoverListing' ([ordered]@{
                source = 'HKLM\SOFTWARE\Microsoft\Wbem\CIMOM!Autorecover MOFs'
                mofs   = $mofs
                errors = @($errors)
            })
    }
}

# --- WMI queries (only when WMI answers) ---------------------------------------------------------
# Each query runs through Invoke-Bounded and carries its own -OperationTimeoutSec.

$CimQuery = {
    param($Namespace, $ClassName, $TimeoutSec)
    Get-CimInstance -Namespace $Namespace -ClassName $ClassName -OperationTimeoutSec $TimeoutSec -ErrorAction Stop
}

# A namespace's security descriptor as SDDL (converted here rather than by Win32_SecurityDescriptorHelper,
# so a broken root\cimv2 does not cost the namespace rights).
$NamespaceSecurityQuery = {
    param($Namespace, $TimeoutSec)
    $result = Invoke-CimMethod -Namespace $Namespace -ClassName __SystemSecurity -MethodName GetSD -OperationTimeoutSec $TimeoutSec -ErrorAction Stop
    if ($result.ReturnValue -ne 0) { throw ('__SystemSecurity.GetSD returned 0x{0:X8}' -f $result.ReturnValue) }
    (New-Object System.Security.AccessControl.RawSecurityDescriptor -ArgumentList ([byte[]]$result.SD), 0).GetSddlForm('All')
}

# Whether a namespace refuses connections that are not encrypted: the RequiresEncryption qualifier of its
# __SystemSecurity singleton instance (MS-WMI 2.2.30.3). Instance qualifiers are not visible through the CIM
# cmdlets, so this one read goes through System.Management, with its own time limit.
$EncryptionQuery = {
    param($Namespace, $TimeoutSec)
    $options = New-Object System.Management.ObjectGetOptions
    $options.Timeout = [TimeSpan]::FromSeconds($TimeoutSec)
    $scope = New-Object System.Management.ManagementScope -ArgumentList ('\\.\' + $Namespace)
    $instance = New-Object System.Management.ManagementObject -ArgumentList $scope, (New-Object System.Management.ManagementPath -ArgumentList '__SystemSecurity=@'), $options
    $instance.Get()
    $found = @($instance.Qualifiers | Where-Object { $_.Name -eq 'RequiresEncryption' })
    ($found.Count -gt 0 -and [bool]$found[0].Value)
}

$MaxWmiCallSeconds = 60

function Get-QueryTimeout {
    <# Seconds for a WMI call's own -OperationTimeoutSec: what is left of the step, at least 1 and at most
       $MaxWmiCallSeconds (one call may not spend a whole step). #>
    return [Math]::Min($MaxWmiCallSeconds, [Math]::Max(1, [int]((Get-TimeLimitMs) / 1000)))
}

function Get-Instances {
    param([string]$Namespace, [string]$ClassName)
    return @(Invoke-Bounded -ScriptBlock $CimQuery -ArgumentList @($Namespace, $ClassName, (Get-QueryTimeout)) -TimeoutSeconds ($MaxWmiCallSeconds + 5))
}

function ConvertTo-ReferenceText {
    <# A reference property (a CimInstance of the referenced object, or already text) as an object path. #>
    param($Value)
    if ($null -eq $Value) { return '' }
    if ($Value -is [Microsoft.Management.Infrastructure.CimInstance]) {
        $keys = @($Value.CimInstanceProperties | Where-Object { $null -ne $_.Value -and $_.Flags -match 'Key' })
        if ($keys.Count -eq 0) { $keys = @($Value.CimInstanceProperties | Where-Object { $_.Name -eq 'Name' }) }
        $pairs = @($keys | ForEach-Object { '{0}="{1}"' -f $_.Name, ([string]$_.Value -replace '\\', '\\' -replace '"', '\"') })
        # CimClass can be empty on a reference read back from a query: the instance's own system property is not.
        return '{0}.{1}' -f $Value.CimSystemProperties.ClassName, ($pairs -join ',')
    }
    return [string]$Value
}

function ConvertTo-SidText {
    param($Bytes)
    if ($null -eq $Bytes -or $Bytes.Count -eq 0) { return '' }
    try { return (New-Object System.Security.Principal.SecurityIdentifier -ArgumentList ([byte[]]$Bytes), 0).Value } catch { return '' }
}

function Test-Wmi {
    <# WMI is queried only when the Winmgmt service already runs (a query would start it) and answers a
       query the CIMOM serves itself (root __NAMESPACE) within 30 seconds. #>
    $service = Get-Service -Name 'Winmgmt' -ErrorAction SilentlyContinue
    if ($null -eq $service) { $script:WmiError = 'the Winmgmt service does not exist'; return }
    if ($service.Status -ne 'Running') {
        $script:WmiError = "the Winmgmt service is $($service.Status) and the collector does not start it"
        return
    }
    $script:StepDeadline = [DateTime]::UtcNow.AddSeconds(30)
    if ($script:StepDeadline -gt $RunDeadline) { $script:StepDeadline = $RunDeadline }
    try {
        $null = Invoke-Bounded -ScriptBlock $CimQuery -ArgumentList @('root', '__NAMESPACE', 25)
        $script:WmiAlive = $true
    }
    catch {
        $script:WmiError = ($_.Exception.Message -replace '\s+', ' ').Trim()
    }
    finally {
        $script:StepDeadline = $RunDeadline
    }
}

function Invoke-WmiStep {
    <# A step that queries WMI; -PerNamespace steps (one query or more in every namespace) get three times
       the step budget. #>
    param([string]$Key, [scriptblock]$Body, [switch]$PerNamespace)
    if (-not $script:WmiAlive) {
        Add-Entry -Key $Key -Status 'failed' -Message "WMI was not queried: $script:WmiError"
        return
    }
    if ($script:WmiHung) {
        Add-Entry -Key $Key -Status 'skipped' -Message "not run: WMI did not answer $script:WmiHung in time, so the remaining WMI steps were skipped"
        return
    }
    $budget = if ($PerNamespace) { 3 * $StepTimeoutSeconds } else { $StepTimeoutSeconds }
    Invoke-Step $Key $Body -TimeoutSeconds $budget
    # One hung WMI call is enough: every later step would wait out its own budget on the same hang.
    if ($script:Entries.Count -gt 0 -and $script:Entries[$script:Entries.Count - 1].status -eq 'timeout') { $script:WmiHung = $Artifacts[$Key].Name }
}

function Get-NamespaceList {
    if ($script:Namespaces.Count -eq 0) { throw 'no namespace list (the wmi/namespaces.json step did not complete)' }
    return , @($script:Namespaces)
}

function Add-TimeLimitError {
    <# A loop over namespaces stopped by the step's time budget: one error saying how far it got. #>
    param($Errors, [int]$Done, [int]$Total)
    [void]$Errors.Add([ordered]@{ namespace = ''; error = ('time budget used up after {0} of {1} namespaces' -f $Done, $Total) })
    return @{ Status = 'timeout'; Message = ('partial: {0} of {1} namespaces read' -f $Done, $Total) }
}

function Save-Identity {
    Invoke-WmiStep 'WmiIdentity' {
        $system = Get-Instances 'root\cimv2' 'Win32_ComputerSystem' | Select-Object -First 1
        $os = Get-Instances 'root\cimv2' 'Win32_OperatingSystem' | Select-Object -First 1
        if ($null -eq $system -or $null -eq $os) { throw 'Win32_ComputerSystem or Win32_OperatingSystem returned no instance' }
        Write-JsonArtifact 'WmiIdentity' ([ordered]@{
                ComputerSystem  = [ordered]@{ Name = $system.Name; Domain = $system.Domain; DomainRole = [int]$system.DomainRole; PartOfDomain = [bool]$system.PartOfDomain }
                OperatingSystem = [ordered]@{ Caption = $os.Caption; Version = $os.Version; BuildNumber = $os.BuildNumber; OSLanguage = $os.OSLanguage }
                TimeZone        = [TimeZoneInfo]::Local.Id
                UICulture       = (Get-UICulture).Name
                errors          = @()
            })
    }
}

function Save-Namespaces {
    Invoke-WmiStep 'WmiNamespaces' -PerNamespace {
        $found = New-Object System.Collections.ArrayList
        $errors = New-Object System.Collections.ArrayList
        $outcome = @{ Status = 'ok' }
        $queue = New-Object System.Collections.Queue
        $queue.Enqueue('root')
        while ($queue.Count -gt 0 -and $found.Count -lt $MaxNamespaces) {
            if (-not (Test-TimeLeft)) { $outcome = Add-TimeLimitError $errors $found.Count ($found.Count + $queue.Count); break }
            $namespace = $queue.Dequeue()
            [void]$found.Add($namespace)
            try {
                foreach ($child in Get-Instances $namespace '__NAMESPACE') { $queue.Enqueue("$namespace\$($child.Name)") }
            }
            catch { [void]$errors.Add([ordered]@{ namespace = $namespace; error = $_.Exception.Message }) }
        }
        if ($queue.Count -gt 0 -and $found.Count -ge $MaxNamespaces) {
            [void]$errors.Add([ordered]@{ namespace = ''; error = ('more than {0} namespaces: the rest were not read' -f $MaxNamespaces) })
        }
        $script:Namespaces = @($found)
        $items = New-Object System.Collections.ArrayList
        foreach ($namespace in $found) {
            $item = [ordered]@{ name = $namespace; sddl = ''; error = '' }
            if (Test-TimeLeft) {
                try {
                    $sddl = Invoke-Bounded -ScriptBlock $NamespaceSecurityQuery -ArgumentList @($namespace, (Get-QueryTimeout))
                    $item.sddl = [string]($sddl | Select-Object -First 1)
                }
                catch { $item.error = $_.Exception.Message }
                # left out (not known) when it cannot be read
                try { $item.requires_encryption = [bool](Invoke-Bounded -ScriptBlock $EncryptionQuery -ArgumentList @($namespace, (Get-QueryTimeout)) | Select-Object -First 1) }
                catch { Write-Verbose "RequiresEncryption of ${namespace}: $($_.Exception.Message)" }
            }
            else {
                $item.error = 'security descriptor not read: time budget used up'
                $outcome = @{ Status = 'timeout'; Message = 'partial: some security descriptors not read' }
            }
            [void]$items.Add($item)
        }
        Write-JsonArtifact 'WmiNamespaces' ([ordered]@{ namespaces = @($items); errors = @($errors) })
        $outcome
    }
}

function Save-Providers {
    Invoke-WmiStep 'WmiProviders' -PerNamespace {
        $namespaces = Get-NamespaceList
        $providers = New-Object System.Collections.ArrayList
        $errors = New-Object System.Collections.ArrayList
        $outcome = @{ Status = 'ok' }
        $done = 0
        foreach ($namespace in $namespaces) {
            if (-not (Test-TimeLeft)) { $outcome = Add-TimeLimitError $errors $done $namespaces.Count; break }
            $done++
            try {
                $instances = Get-Instances $namespace '__Win32Provider'
                if ($instances.Count -eq 0) { continue }
                $registrations = @{}
                foreach ($registration in Get-Instances $namespace '__ProviderRegistration') {
                    $provider = ConvertTo-ReferenceText $registration.provider
                    $name = ($provider -replace '^[^=]*="?', '' -replace '"$', '').ToLowerInvariant()
                    if (-not $registrations.ContainsKey($name)) { $registrations[$name] = New-Object System.Collections.ArrayList }
                    [void]$registrations[$name].Add($registration.CimSystemProperties.ClassName)
                }
                foreach ($instance in $instances) {
                    $key = ([string]$instance.Name).ToLowerInvariant()
                    [void]$providers.Add([ordered]@{
                            namespace     = $namespace
                            name          = $instance.Name
                            clsid         = $instance.CLSID
                            hosting_model = $instance.HostingModel
                            registrations = @(if ($registrations.ContainsKey($key)) { $registrations[$key] })
                        })
                }
            }
            catch { [void]$errors.Add([ordered]@{ namespace = $namespace; error = $_.Exception.Message }) }
        }
        Write-JsonArtifact 'WmiProviders' ([ordered]@{ providers = @($providers); errors = @($errors) })
        $script:ProviderClsids = @($providers | ForEach-Object { $_.clsid } | Where-Object { $_ })
        $outcome
    }
}

function Save-Quotas {
    Invoke-WmiStep 'WmiQuotas' {
        $quota = Get-Instances 'root' '__ProviderHostQuotaConfiguration' | Select-Object -First 1
        $data = [ordered]@{ errors = @() }
        if ($null -eq $quota) { $data.errors = @('root:__ProviderHostQuotaConfiguration has no instance') }
        foreach ($name in 'ThreadsPerHost', 'HandlesPerHost', 'ProcessLimitAllHosts', 'MemoryPerHost', 'MemoryAllHosts') {
            $data[$name] = if ($null -ne $quota) { $quota.$name } else { $null }
        }
        Write-JsonArtifact 'WmiQuotas' $data
    }
}

function Save-ProviderHosts {
    Invoke-WmiStep 'WmiProviderHosts' {
        $hosts = @{}
        foreach ($loaded in Get-Instances 'root\cimv2' 'MSFT_Providers') {
            $id = [int]$loaded.HostProcessIdentifier
            if (-not $hosts.ContainsKey($id)) {
                $hosts[$id] = [ordered]@{ pid = $id; process_name = ''; hosting_model = $loaded.HostingModel; user = $loaded.User
                    providers = New-Object System.Collections.ArrayList; working_set = $null; private_bytes = $null; handles = $null; threads = $null }
            }
            [void]$hosts[$id].providers.Add(('{0}:{1}' -f $loaded.Namespace, $loaded.provider))
        }
        foreach ($entry in $hosts.Values) {
            $process = Get-Process -Id $entry.pid -ErrorAction SilentlyContinue
            if ($process) {
                $entry.process_name = $process.ProcessName + '.exe'
                $entry.working_set = $process.WorkingSet64
                $entry.private_bytes = $process.PrivateMemorySize64
                $entry.handles = $process.HandleCount
                $entry.threads = $process.Threads.Count
            }
        }
        Write-JsonArtifact 'WmiProviderHosts' ([ordered]@{ hosts = @($hosts.Values); errors = @() })
    }
}

function Save-Subscriptions {
    Invoke-WmiStep 'WmiSubscriptions' -PerNamespace {
        $namespaces = Get-NamespaceList
        $filters = New-Object System.Collections.ArrayList
        $consumers = New-Object System.Collections.ArrayList
        $bindings = New-Object System.Collections.ArrayList
        $timers = New-Object System.Collections.ArrayList
        $errors = New-Object System.Collections.ArrayList
        $outcome = @{ Status = 'ok' }
        $done = 0
        foreach ($namespace in $namespaces) {
            if (-not (Test-TimeLeft)) { $outcome = Add-TimeLimitError $errors $done $namespaces.Count; break }
            $done++
            try {
                foreach ($filter in Get-Instances $namespace '__EventFilter') {
                    [void]$filters.Add([ordered]@{ namespace = $namespace; name = $filter.Name; query = $filter.Query
                            query_language = $filter.QueryLanguage; event_namespace = $filter.EventNamespace
                            creator_sid = ConvertTo-SidText $filter.CreatorSID })
                }
                foreach ($consumer in Get-Instances $namespace '__EventConsumer') {
                    $properties = [ordered]@{}
                    foreach ($property in $consumer.CimInstanceProperties) {
                        if ($property.Name -in 'Name', 'CreatorSID', 'MachineName', 'MaximumQueueSize') { continue }
                        if ($property.Name -match $SecretPropertyPattern -or $null -eq $property.Value) { continue }
                        $properties[$property.Name] = ConvertTo-SafeText $property.Value
                    }
                    [void]$consumers.Add([ordered]@{ namespace = $namespace; class = $consumer.CimSystemProperties.ClassName
                            name = $consumer.Name; properties = $properties; creator_sid = ConvertTo-SidText $consumer.CreatorSID })
                }
                foreach ($binding in Get-Instances $namespace '__FilterToConsumerBinding') {
                    [void]$bindings.Add([ordered]@{ namespace = $namespace; filter = ConvertTo-ReferenceText $binding.Filter
                            consumer = ConvertTo-ReferenceText $binding.Consumer })
                }
                foreach ($timer in Get-Instances $namespace '__TimerInstruction') {
                    [void]$timers.Add([ordered]@{ namespace = $namespace; class = $timer.CimSystemProperties.ClassName
                            timer_id = $timer.TimerId; interval_ms = $timer.IntervalBetweenEvents })
                }
            }
            catch { [void]$errors.Add([ordered]@{ namespace = $namespace; error = $_.Exception.Message }) }
        }
        Write-JsonArtifact 'WmiSubscriptions' ([ordered]@{ filters = @($filters); consumers = @($consumers)
                bindings = @($bindings); timers = @($timers); errors = @($errors) })
        $outcome
    }
}

function Get-ServiceState {
    <# A service's state from the Service Control Manager (no WMI): Running, Stopped, ... or 'missing'. #>
    param([string]$Name)
    $service = Get-Service -Name $Name -ErrorAction SilentlyContinue
    if ($null -eq $service) { return 'missing' }
    return [string]$service.Status
}

function Save-WinmgmtHost {
    <# The figures of the svchost that runs Winmgmt, found by the PID sc queryex printed (no WMI). #>
    Invoke-Step 'WinmgmtHost' {
        $queried = Get-ArtifactPath 'ScQueryExWinmgmt'
        $text = if (Test-Path -LiteralPath $queried) { [System.IO.File]::ReadAllText($queried) } else { '' }
        if ($text -notmatch 'PID\s*:\s*(\d+)' -or [int]$Matches[1] -eq 0) {
            return @{ Status = 'skipped'; Message = "Winmgmt has no process (it is $WinmgmtState)" }
        }
        $process = Get-Process -Id ([int]$Matches[1]) -ErrorAction Stop
        Write-JsonArtifact 'WinmgmtHost' ([ordered]@{ pid = $process.Id; process_name = $process.ProcessName + '.exe'
                hosting_model = 'Winmgmt service host'; working_set = $process.WorkingSet64
                private_bytes = $process.PrivateMemorySize64; handles = $process.HandleCount; threads = $process.Threads.Count })
    }
}

function Copy-RepositoryFiles {
    <# Copy the repository's files from $Source into a partial folder and rename it to repository/ only when
       every file was copied whole: a copy cut short by the time limit is never read as a (corrupt) repository. #>
    param([string]$Source, [string[]]$Names)
    $target = Get-ArtifactPath 'RepositoryCopy'
    $part = $target + '.partial'
    [void][System.IO.Directory]::CreateDirectory($part)
    $failures = @()
    foreach ($name in $Names) {
        # cmd's copy reads \\?\GLOBALROOT paths, which .NET before 4.6.2 refuses; /d skips AutoRun commands.
        $run = Invoke-Native (Get-SystemProgram 'cmd.exe') ('/d /c copy /b /y "{0}\{1}" "{2}"' -f $Source, $name, (Join-Path $part $name))
        if ($run.ExitCode -ne 0) { $failures += ('{0}: {1}' -f $name, $run.Output.Trim()) }
    }
    if ($failures.Count -gt 0) {
        Remove-Item -LiteralPath $part -Recurse -Force -ErrorAction SilentlyContinue
        throw ('not copied (nothing kept): ' + ($failures -join '; '))
    }
    [System.IO.Directory]::Move($part, $target)
}

function Copy-RepositoryDirect {
    <# Winmgmt is not running, so nothing holds the repository open: its files are copied as they are, with
       no WMI call and no shadow copy. #>
    Invoke-Step 'RepositoryCopy' {
        if (-not $Elevated) { throw 'copying the repository needs an elevated prompt ("Run as administrator")' }
        $folder = Get-RepositoryFolder
        $names = @(Get-ChildItem -LiteralPath $folder -Force -File | ForEach-Object { $_.Name })
        Copy-RepositoryFiles -Source $folder -Names $names
        @{ Message = "copied directly: Winmgmt was $WinmgmtState" }
    } -TimeoutSeconds (3 * $StepTimeoutSeconds)
}

# --- optional: the repository through a volume shadow copy --------------------------------------

$ShadowCreate = {
    param($Volume, $TimeoutSec)
    Invoke-CimMethod -ClassName Win32_ShadowCopy -MethodName Create -Arguments @{ Volume = $Volume; Context = 'ClientAccessible' } -OperationTimeoutSec $TimeoutSec -ErrorAction Stop
}

$ShadowFind = {
    param($Id, $TimeoutSec)
    Get-CimInstance -ClassName Win32_ShadowCopy -Filter ("ID='{0}'" -f $Id) -OperationTimeoutSec $TimeoutSec -ErrorAction Stop
}

$ShadowRemove = {
    param($Id, $TimeoutSec)
    Get-CimInstance -ClassName Win32_ShadowCopy -Filter ("ID='{0}'" -f $Id) -OperationTimeoutSec $TimeoutSec -ErrorAction Stop |
        Remove-CimInstance -OperationTimeoutSec $TimeoutSec -ErrorAction Stop
}

function Copy-RepositoryFromShadow {
    Write-Warning ('-ShadowCopy creates a volume shadow copy of the system volume through WMI (Win32_ShadowCopy) ' +
        'and removes it when the copy ends; creating one can make VSS delete older shadow copies when its storage ' +
        'is full, and client editions may refuse it. Leave -ShadowCopy out on a host where that matters.')
    Invoke-Step 'RepositoryCopy' {
        if (-not $Elevated) { throw 'a shadow copy needs an elevated prompt ("Run as administrator")' }
        if (-not $script:WmiAlive) { throw "a shadow copy is made through WMI (Win32_ShadowCopy), which was not queried: $script:WmiError" }
        $folder = Get-RepositoryFolder
        $volume = [System.IO.Path]::GetPathRoot($folder)
        $names = @(Get-ChildItem -LiteralPath $folder -Force -File | ForEach-Object { $_.Name })
        $created = Invoke-Bounded -ScriptBlock $ShadowCreate -ArgumentList @($volume, (Get-QueryTimeout)) | Select-Object -First 1
        if ($created.ReturnValue -ne 0) { throw "Win32_ShadowCopy.Create returned $($created.ReturnValue)" }
        $id = [string]$created.ShadowID
        try {
            $shadow = Invoke-Bounded -ScriptBlock $ShadowFind -ArgumentList @($id, (Get-QueryTimeout)) | Select-Object -First 1
            Copy-RepositoryFiles -Source ($shadow.DeviceObject + '\' + $folder.Substring($volume.Length)) -Names $names
        }
        finally {
            try { $null = Invoke-Bounded -ScriptBlock $ShadowRemove -ArgumentList @($id, 60) -TimeoutSeconds 90 -Cleanup }
            catch { Write-Warning "The shadow copy $id could not be removed ($($_.Exception.Message)); remove it with: vssadmin delete shadows /shadow=$id" }
        }
    } -TimeoutSeconds (3 * $StepTimeoutSeconds)
}

# --- the bundle ----------------------------------------------------------------------------------

function Get-PersonalData {
    <# The personal data the written artifacts may hold (the manifest's own included). #>
    $personal = New-Object System.Collections.ArrayList
    foreach ($key in $Artifacts.Keys) {
        $present = Test-Path -LiteralPath (Join-Path $OutputPath ($Artifacts[$key].Name -replace '/', '\'))
        if ($key -eq 'Manifest' -or $present) {
            foreach ($item in $Artifacts[$key].Personal) { if (-not $personal.Contains($item)) { [void]$personal.Add($item) } }
        }
    }
    return $personal
}

function Write-Zip {
    <# Zip the folder with '/' separators (ZipFile.CreateFromDirectory writes '\' on .NET before 4.6.1); a
       file that cannot be read is left out and named in the returned list. #>
    param([string]$Folder, [string]$ZipPath)
    Add-Type -AssemblyName System.IO.Compression
    $failures = New-Object System.Collections.ArrayList
    $stream = [System.IO.File]::Open($ZipPath, [System.IO.FileMode]::CreateNew)
    try {
        $zip = New-Object System.IO.Compression.ZipArchive -ArgumentList $stream, ([System.IO.Compression.ZipArchiveMode]::Create)
        try {
            foreach ($file in Get-ChildItem -LiteralPath $Folder -Recurse -Force -File) {
                $name = $file.FullName.Substring($Folder.Length + 1).Replace('\', '/')
                try {
                    $source = [System.IO.File]::Open($file.FullName, [System.IO.FileMode]::Open, [System.IO.FileAccess]::Read, [System.IO.FileShare]::ReadWrite)
                    try {
                        $entry = $zip.CreateEntry($name, [System.IO.Compression.CompressionLevel]::Optimal)
                        $target = $entry.Open()
                        try { $source.CopyTo($target) } finally { $target.Dispose() }
                    }
                    finally { $source.Dispose() }
                }
                catch { [void]$failures.Add(('{0}: {1}' -f $name, $_.Exception.Message)) }
            }
        }
        finally { $zip.Dispose() }
    }
    finally { $stream.Dispose() }
    return $failures
}

# --- trace mode (-TraceSeconds / -TraceUntilKey): the WMI-Activity Trace channel during a reproduction ----
# Runs before the collector's own WMI queries, so the trace shows the host's clients, not the collector.
# The only change to the host is temporary: the channel (and, with -TraceEtl, an ETW session) is switched on
# for the trace and put back as it was in a finally block, on error and on Ctrl+C too.

$TraceChannel = 'Microsoft-Windows-WMI-Activity/Trace'
$TraceSessionName = 'wmidoctor-wmi-trace'
# ETW providers of the session: the WMI-Activity provider {1418EF04-B0B4-4623-BF7E-D74AB47BBDAA}, the WMI
# service's own provider and the WMI performance adapter.
$TraceProviders = @('Microsoft-Windows-WMI-Activity', 'Microsoft-Windows-WMI', 'Microsoft-Windows-WMIAdapter')
$TraceMaxWaitSeconds = 3600

function Get-TraceChannelState {
    <# The channel's enabled flag and size limit as wevtutil gl reports them. #>
    $run = Invoke-Native (Get-SystemProgram 'wevtutil.exe') ('gl "{0}"' -f $TraceChannel) 30
    if ($run.ExitCode -ne 0) { throw ('wevtutil gl exit {0}: {1}' -f $run.ExitCode, $run.Output.Trim()) }
    $enabled = $run.Output -match '(?m)^\s*enabled:\s*true'
    $maxSize = 0
    if ($run.Output -match '(?m)^\s*maxSize:\s*(\d+)') { $maxSize = [long]$Matches[1] }
    return @{ Enabled = [bool]$enabled; MaxSize = $maxSize }
}

function Set-TraceChannel {
    param([bool]$Enabled, [long]$MaxSize = 0)
    $arguments = 'sl "{0}" /e:{1} /q:true' -f $TraceChannel, $(if ($Enabled) { 'true' } else { 'false' })
    if ($MaxSize -gt 0) { $arguments += (' /ms:{0}' -f $MaxSize) }
    $run = Invoke-Native (Get-SystemProgram 'wevtutil.exe') $arguments 30
    if ($run.ExitCode -ne 0) { throw ('wevtutil sl exit {0}: {1}' -f $run.ExitCode, $run.Output.Trim()) }
}

function Start-TraceSession {
    <# A circular, size-bounded ETW session over the WMI providers, written straight into the bundle. #>
    param([string]$EtlPath)
    $logman = Get-SystemProgram 'logman.exe'
    $first = $true
    foreach ($provider in $TraceProviders) {
        $verb = if ($first) { 'start' } else { 'update trace' }
        $arguments = '{0} "{1}" -p "{2}" 0xFFFFFFFFFFFFFFFF 0xFF -ets' -f $verb, $TraceSessionName, $provider
        if ($first) { $arguments += (' -o "{0}" -mode circular -max {1} -bs 64' -f $EtlPath, $TraceMaxMB) }
        $run = Invoke-Native $logman $arguments 60
        if ($run.ExitCode -ne 0) {
            if ($first) { throw ('logman start exit {0}: {1}' -f $run.ExitCode, $run.Output.Trim()) }
            Write-Verbose ('provider {0} not added to the session: {1}' -f $provider, $run.Output.Trim())
        }
        $first = $false
    }
}

function Stop-TraceSession {
    $run = Invoke-Native (Get-SystemProgram 'logman.exe') ('stop "{0}" -ets' -f $TraceSessionName) 60
    if ($run.ExitCode -ne 0) { throw ('logman stop exit {0}: {1}' -f $run.ExitCode, $run.Output.Trim()) }
}

function Wait-TraceEnd {
    <# Wait -TraceSeconds, or until a key (Ctrl+C counts as a key here, so it ends the trace and the
       collection goes on) when -TraceUntilKey is given or the console can tell. #>
    $limit = if ($TraceSeconds -gt 0) { $TraceSeconds } else { $TraceMaxWaitSeconds }
    $end = [DateTime]::UtcNow.AddSeconds($limit)
    $console = $true
    $treatControlC = $false
    try { $treatControlC = [Console]::TreatControlCAsInput; [Console]::TreatControlCAsInput = $true }
    catch { $console = $false }
    try {
        if (-not $console -and $TraceSeconds -le 0) { throw 'no console to read a key from: use -TraceSeconds N' }
        $what = if ($TraceSeconds -gt 0) { '{0} s' -f $TraceSeconds } else { 'until a key is pressed' }
        Write-Host ('Tracing WMI activity ({0}): reproduce the problem now; press any key to stop early.' -f $what)
        while ([DateTime]::UtcNow -lt $end) {
            if ($console) {
                try { if ([Console]::KeyAvailable) { [void][Console]::ReadKey($true); break } }
                catch { $console = $false }
            }
            Start-Sleep -Milliseconds 200
        }
    }
    finally {
        if ($console) { try { [Console]::TreatControlCAsInput = $treatControlC } catch { Write-Verbose 'console mode not restored' } }
    }
}

function Invoke-WmiTraceMode {
    <# Enable the Trace channel (and the ETW session), wait, then disable and export; the channel's original
       state is put back whatever happens. Time spent tracing is added to the collection's time budget. #>
    $traceStarted = [DateTime]::UtcNow
    $script:StepDeadline = $traceStarted.AddSeconds($StepTimeoutSeconds)
    $watch = [System.Diagnostics.Stopwatch]::StartNew()
    $original = $null
    $sessionStarted = $false
    $traceError = ''
    $sessionError = ''
    try {
        if (-not $Elevated) { throw 'tracing needs an elevated prompt ("Run as administrator")' }
        $original = Get-TraceChannelState
        # Switching an analytic log on may clear it: one already on is left running as it is (its events
        # since then are exported whole below).
        if (-not $original.Enabled) { Set-TraceChannel -Enabled $true -MaxSize ([long]$TraceMaxMB * 1048576) }
        if ($TraceEtl) {
            try { Start-TraceSession -EtlPath (Get-ArtifactPath 'WmiTraceSession'); $sessionStarted = $true }
            catch { $sessionError = ($_.Exception.Message -replace '\s+', ' ').Trim() }
        }
        Wait-TraceEnd
    }
    catch { $traceError = ($_.Exception.Message -replace '\s+', ' ').Trim() }
    finally {
        $script:StepDeadline = [DateTime]::UtcNow.AddSeconds($StepTimeoutSeconds)
        if ($sessionStarted) {
            try { Stop-TraceSession } catch { $sessionError = ($_.Exception.Message -replace '\s+', ' ').Trim() }
        }
        if ($null -ne $original) {
            try {
                Set-TraceChannel -Enabled $false -MaxSize $original.MaxSize  # an enabled analytic log cannot be exported
                $query = if ($original.Enabled) { '' } else {
                    (' /q:"*[System[TimeCreated[@SystemTime>=''{0}'']]]"' -f $traceStarted.ToString('yyyy-MM-ddTHH:mm:ss.fffZ', $Invariant)) }
                $run = Invoke-Native (Get-SystemProgram 'wevtutil.exe') ('epl "{0}" "{1}" /ow:true{2}' -f $TraceChannel, (Get-ArtifactPath 'WmiActivityTrace'), $query)
                if ($run.ExitCode -ne 0 -and -not $traceError) { $traceError = ('wevtutil epl exit {0}: {1}' -f $run.ExitCode, $run.Output.Trim()) }
            }
            finally {
                if ($original.Enabled) { Set-TraceChannel -Enabled $true -MaxSize $original.MaxSize }
            }
        }
        $script:StepDeadline = $RunDeadline
    }
    $elapsed = [long]$watch.ElapsedMilliseconds
    $script:RunDeadline = $RunDeadline.AddMilliseconds($elapsed)
    $script:StepDeadline = $script:RunDeadline
    if ($traceError) { Add-Entry -Key 'WmiActivityTrace' -Status 'failed' -Message $traceError -DurationMs $elapsed }
    else { Add-Entry -Key 'WmiActivityTrace' -Status 'ok' -DurationMs $elapsed }
    if (-not $TraceEtl) { Add-Entry -Key 'WmiTraceSession' -Status 'skipped' -Message 'run with -TraceEtl to record an ETW session too' }
    elseif (-not $sessionStarted -or $sessionError) { Add-Entry -Key 'WmiTraceSession' -Status 'failed' -Message $(if ($sessionError) { $sessionError } else { $traceError }) }
    else { Add-Entry -Key 'WmiTraceSession' -Status 'ok' -DurationMs $elapsed }
}

function Skip-WmiTraceMode {
    Add-Entry -Key 'WmiActivityTrace' -Status 'skipped' -Message 'run with -TraceSeconds N or -TraceUntilKey to trace WMI activity'
    Add-Entry -Key 'WmiTraceSession' -Status 'skipped' -Message 'run with -TraceSeconds N -TraceEtl to record an ETW session too'
}

# --- what the collection runs (-WhatIf) and the pre-flight (-Check) -------------------------------
# Every program and query the collection runs, with what it does to the host. A test compares this list with
# the script: each program started and each WMI class queried must be listed here.
$CommandPlan = @(
    @('event logs', 'wevtutil.exe epl Application /q:<WMI events of -LogDays days>', 'reads'),
    @('event logs', 'wevtutil.exe qe WMI-Activity/Operational|System|Sysmon|Security /q:<WMI events> /f:xml (secrets masked)', 'reads'),
    @('registry', 'reg.exe export <each key of the artifact table> (Environment values left out, secrets masked)', 'reads'),
    @('registry', 'Get-ItemProperty <named values: host identity, Lsa and MSV1_0 NTLM settings>', 'reads'),
    @('services', 'Get-Service Winmgmt, MpsSvc (Service Control Manager)', 'reads'),
    @('services', 'sc.exe qc|queryex|sdshow Winmgmt, RpcSs, DcomLaunch, RpcEptMapper', 'reads'),
    @('repository check', 'winmgmt.exe /verifyrepository (only when Winmgmt already runs)', 'reads'),
    @('firewall', 'netsh.exe advfirewall firewall show rule name=all verbose; advfirewall show allprofiles state (only when MpsSvc runs)', 'reads'),
    @('rpc', 'netsh.exe int ipv4 show dynamicport tcp', 'reads'),
    @('files', 'Get-ChildItem <repository folder>; copies of third-party Autorecover MOFs (secrets masked)', 'reads'),
    @('wmi (only when Winmgmt already runs)', 'Get-CimInstance root:__NAMESPACE, Win32_ComputerSystem, Win32_OperatingSystem, __Win32Provider, __ProviderRegistration, __ProviderHostQuotaConfiguration, MSFT_Providers, __EventFilter, __EventConsumer, __FilterToConsumerBinding, __TimerInstruction', 'reads'),
    @('wmi (only when Winmgmt already runs)', 'Invoke-CimMethod __SystemSecurity.GetSD; ManagementObject __SystemSecurity=@ (RequiresEncryption qualifier)', 'reads'),
    @('processes', 'Get-Process <the provider hosts MSFT_Providers names; the svchost running Winmgmt>', 'reads'),
    @('repository copy', 'cmd.exe /d /c copy /b (only when Winmgmt is stopped: nothing holds the files)', 'reads'),
    @('repository copy', 'Win32_ShadowCopy.Create and Remove-CimInstance of that shadow copy (only with -ShadowCopy)', 'creates one shadow copy and removes it'),
    @('trace', 'wevtutil.exe gl|sl|epl Microsoft-Windows-WMI-Activity/Trace; logman.exe (only with -TraceSeconds / -TraceUntilKey)', 'enables the trace channel (and an ETW session) for the trace and restores them')
)

function Show-CollectionPlan {
    Write-Output 'Collect-WmiDoctor would run (nothing has been run or written):'
    foreach ($row in $CommandPlan) { Write-Output ('  {0,-40} {1}  [{2}]' -f $row[0], $row[1], $row[2]) }
    Write-Output ('Output: {0} (and {0}.zip unless -NoZip); event logs of the last {1} days (0 = whole logs).' -f $OutputPath, $LogDays)
}

function Show-Preflight {
    <# What decides how complete a collection will be, read without changing anything. #>
    $principal = New-Object System.Security.Principal.WindowsPrincipal([System.Security.Principal.WindowsIdentity]::GetCurrent())
    $root = [System.IO.Path]::GetPathRoot($OutputPath)
    $free = 'unknown'
    try { $free = '{0:N1} GB' -f ((New-Object System.IO.DriveInfo -ArgumentList $root).AvailableFreeSpace / 1073741824) }
    catch { $free = "unknown ($($_.Exception.Message))" }
    $rows = [ordered]@{
        'PowerShell'          = $PSVersionTable.PSVersion.ToString()
        'Language mode'       = [string]$ExecutionContext.SessionState.LanguageMode
        'Execution policy'    = (@(Get-ExecutionPolicy -List | ForEach-Object { '{0}={1}' -f $_.Scope, $_.ExecutionPolicy }) -join ', ')
        'Elevated'            = $principal.IsInRole([System.Security.Principal.WindowsBuiltInRole]::Administrator)
        '64-bit OS / process' = '{0} / {1}' -f [Environment]::Is64BitOperatingSystem, [Environment]::Is64BitProcess
        'Output folder'       = $OutputPath
        "Free space on $root" = $free
        'Winmgmt service'     = Get-ServiceState 'Winmgmt'
        'Firewall service'    = Get-ServiceState 'MpsSvc'
    }
    foreach ($name in $rows.Keys) { Write-Output ('{0,-24} {1}' -f $name, $rows[$name]) }
    if (-not $rows['Elevated']) { Write-Output 'Not elevated: the repository listing and copy, some logs and registry keys will be refused.' }
    if ($rows['Winmgmt service'] -ne 'Running') { Write-Output 'Winmgmt is not running: WMI will not be queried (the collector does not start it); the repository files will be copied directly.' }
}

# --- the collection ------------------------------------------------------------------------------

if ($Check) { Show-Preflight; exit 0 }
if ($WhatIfPreference) { Show-CollectionPlan; exit 0 }

if ($OutputPath -notmatch '^([A-Za-z]:\\|\\\\)') { Exit-WithUsageError "$OutputPath is not a file-system path; name a folder with -OutputPath" }
if (Test-Path -LiteralPath $OutputPath) { Exit-WithUsageError "$OutputPath exists already; name a new folder with -OutputPath" }
if (-not $NoZip -and (Test-Path -LiteralPath "$OutputPath.zip")) { Exit-WithUsageError "$OutputPath.zip exists already; name a new folder with -OutputPath" }
try { [void][System.IO.Directory]::CreateDirectory($OutputPath) }
catch { Exit-WithUsageError "cannot create $OutputPath`: $($_.Exception.Message)" }

$Principal = New-Object System.Security.Principal.WindowsPrincipal([System.Security.Principal.WindowsIdentity]::GetCurrent())
$Elevated = $Principal.IsInRole([System.Security.Principal.WindowsBuiltInRole]::Administrator)
if (-not $Elevated) {
    Write-Warning ('Not running elevated: winmgmt /verifyrepository, the repository listing, some event logs and ' +
        'registry keys need "Run as administrator". Collecting what this account can read; manifest.json records what was refused.')
}

if ($TraceSeconds -gt 0 -or $TraceUntilKey) { Invoke-WmiTraceMode } else { Skip-WmiTraceMode }
foreach ($key in 'WmiActivityLog', 'ApplicationLog', 'SystemLog', 'SysmonLog', 'SecurityLog') { Export-EventLog $key }
foreach ($key in 'RegWbem', 'RegOle', 'RegRpc', 'RegRpcPolicy', 'RegWmiAppId', 'RegDcomPolicy', 'RegWmiHelperAppIds',
    'RegSvchost', 'RegWinRM', 'RegWinRMPolicy', 'RegUacPolicy', 'RegFirewallPolicy', 'RegFirewallGpo') {
    Export-RegistryArtifact $key
}
Export-ServiceKeys
Export-NamedValues 'RegHostIdentity'
Export-NamedValues 'RegLsa'
# The service state comes first, from the Service Control Manager: anything that asks WMI (winmgmt
# /verifyrepository included) starts a stopped Winmgmt, and a start on a damaged repository can reset it.
foreach ($service in $WmiServices) {
    Save-CommandOutput "ScQc$service" (Get-SystemProgram 'sc.exe') "qc $service 8192"
    Save-CommandOutput "ScQueryEx$service" (Get-SystemProgram 'sc.exe') "queryex $service"
    Save-CommandOutput "ScSdShow$service" (Get-SystemProgram 'sc.exe') "sdshow $service"
}
$WinmgmtState = Get-ServiceState 'Winmgmt'
Save-WinmgmtHost
if ($WinmgmtState -eq 'Running') {
    Save-CommandOutput 'VerifyRepository' (Join-Path (Get-WbemFolder) 'winmgmt.exe') '/verifyrepository'
}
else {
    Add-Entry -Key 'VerifyRepository' -Status 'skipped' -Message "not run: Winmgmt is $WinmgmtState, and verifying would start it"
}
# With the firewall service stopped netsh shows no rules: that is recorded as not collected, not as a firewall
# without rules.
$FirewallState = Get-ServiceState 'MpsSvc'
if ($FirewallState -eq 'Running') {
    Save-CommandOutput 'FirewallRules' (Get-SystemProgram 'netsh.exe') 'advfirewall firewall show rule name=all verbose'
    Save-CommandOutput 'FirewallProfiles' (Get-SystemProgram 'netsh.exe') 'advfirewall show allprofiles state'
}
else {
    foreach ($key in 'FirewallRules', 'FirewallProfiles') {
        Add-Entry -Key $key -Status 'failed' -Message "not collected: the Windows Firewall service (MpsSvc) is $FirewallState, and netsh shows no rules then"
    }
}
Save-CommandOutput 'RpcDynamicPorts' (Get-SystemProgram 'netsh.exe') 'int ipv4 show dynamicport tcp'
Save-RepositoryListing
Save-AutorecoverListing

Test-Wmi
Save-Identity
Save-Namespaces
Save-Providers
Save-Quotas
Save-ProviderHosts
Save-Subscriptions
Export-ProviderClsids -Clsids $script:ProviderClsids
Save-ProviderBinaries -Clsids $script:ProviderClsids
if ($WinmgmtState -ne 'Running' -and $WinmgmtState -ne 'missing') { Copy-RepositoryDirect }
elseif ($ShadowCopy) { Copy-RepositoryFromShadow }
else { Add-Entry -Key 'RepositoryCopy' -Status 'skipped' -Message 'run with -ShadowCopy to copy the repository (Winmgmt runs and holds its files open)' }

Write-Progress -Activity 'wmidoctor: collecting WMI evidence' -Completed
$scratch = Join-Path $OutputPath '.scratch'
try { if (Test-Path -LiteralPath $scratch) { Remove-Item -LiteralPath $scratch -Recurse -Force } }
catch { Write-Warning "could not remove $scratch`: $($_.Exception.Message)" }

$manifest = [ordered]@{
    schema            = $BundleSchema
    tool              = 'Collect-WmiDoctor'
    version           = $CollectorVersion
    host              = $env:COMPUTERNAME
    collected_at      = Format-Time $Started
    finished_at       = Format-Time ([DateTime]::UtcNow)
    powershell        = $PSVersionTable.PSVersion.ToString()
    ui_culture        = (Get-UICulture).Name
    console_code_page = (Get-ConsoleEncoding).CodePage
    elevated          = $Elevated
    wmi_answered      = $script:WmiAlive
    wmi_error         = $script:WmiError
    time_budget_s     = [ordered]@{ step = $StepTimeoutSeconds; total = $TotalTimeoutSeconds }
    log_days          = $LogDays
    masked            = @($Artifacts.Keys | Where-Object { $Artifacts[$_].Masked } | ForEach-Object { $Artifacts[$_].Name }) + @('registry/*.reg', 'files/autorecover/*', $Artifacts['WmiSubscriptions'].Name)
    personal_data     = @(Get-PersonalData)
    artifacts         = @($script:Entries)
}
Write-Utf8File -Path (Get-ArtifactPath 'Manifest') -Text (ConvertTo-Json -InputObject $manifest -Depth $JsonDepth)

if ($NoZip) {
    Write-Output "wmidoctor bundle: $OutputPath"
    exit 0
}
try {
    $left = @(Write-Zip -Folder $OutputPath -ZipPath "$OutputPath.zip")
    foreach ($problem in $left) { Write-Warning "not in the .zip (the folder has it): $problem" }
    Write-Output "wmidoctor bundle: $OutputPath (and $OutputPath.zip)"
}
catch {
    Remove-Item -LiteralPath "$OutputPath.zip" -Force -ErrorAction SilentlyContinue  # a partial one (it did not exist before)
    Write-Warning "the .zip could not be written ($($_.Exception.Message)); the folder $OutputPath holds the bundle"
    Write-Output "wmidoctor bundle: $OutputPath"
}
exit 0
