<#
.SYNOPSIS
    Collects the evidence wmidoctor needs to diagnose WMI on this host, into a folder and a .zip.

.DESCRIPTION
    Read-only: nothing on the host is changed (the optional -ShadowCopy creates a volume shadow copy
    to copy the repository from, and removes it afterwards). Every step runs with a time limit; a step
    that fails or times out is recorded in manifest.json with the reason and the collection goes on,
    so event logs, registry exports, file listings and service facts are collected even when WMI itself
    is dead. No passwords, hashes or keys are collected; manifest.json lists the personal data the
    bundle holds (host name, user names and SIDs in logs and security descriptors, IP addresses).

    Analyse the result anywhere with:  wmidoctor diagnose <folder or .zip>
    Requires Windows PowerShell 5.1 or later; run elevated for complete results.

.PARAMETER OutputPath
    The bundle folder to create (it must not exist). The .zip is written beside it as <OutputPath>.zip.

.PARAMETER ShadowCopy
    Also copy the repository (wbem\Repository) through a volume shadow copy (elevated prompt needed).

.PARAMETER StepTimeoutSeconds
    Time limit of each step (default 120 seconds).

.PARAMETER NoZip
    Leave the folder only; do not write the .zip.

.EXAMPLE
    powershell.exe -NoProfile -ExecutionPolicy Bypass -File .\Collect-WmiDoctor.ps1 -OutputPath C:\Temp\wmi-bundle
#>
[CmdletBinding()]
param(
    [string]$OutputPath = (Join-Path (Get-Location).Path ('wmidoctor-bundle-' + [DateTime]::UtcNow.ToString('yyyyMMddTHHmmssZ'))),
    [switch]$ShadowCopy,
    [ValidateRange(5, 3600)]
    [int]$StepTimeoutSeconds = 120,
    [switch]$NoZip
)

$ErrorActionPreference = 'Stop'
$CollectorVersion = '0.1.0'
$BundleSchema = 'wmidoctor.bundle/1'
$WmiAppId = '{8BC3F05E-D86B-11D0-A075-00C04FB68820}'
$WmiServices = @('Winmgmt', 'RpcSs', 'DcomLaunch', 'RpcEptMapper')
$MaxNamespaces = 1000
# Consumer properties never copied: they may hold credentials.
$SecretPropertyPattern = 'Password|Credential|Secret|Token|Key$'

# BEGIN ARTIFACTS (generated from src/wmidoctor/sources/artifacts.py; do not edit by hand)
$Artifacts = [ordered]@{
    Manifest              = @{ Name = 'manifest.json'; RegistryKey = ''; Personal = @('host name', 'user name of the collector') }
    WmiActivityLog        = @{ Name = 'logs/Microsoft-Windows-WMI-Activity%4Operational.evtx'; RegistryKey = ''; Personal = @('host name', 'user names and SIDs', 'IP addresses') }
    ApplicationLog        = @{ Name = 'logs/Application.evtx'; RegistryKey = ''; Personal = @('host name', 'user names and SIDs', 'IP addresses') }
    SystemLog             = @{ Name = 'logs/System.evtx'; RegistryKey = ''; Personal = @('host name', 'user names and SIDs', 'IP addresses') }
    RegWbem               = @{ Name = 'registry/wbem.reg'; RegistryKey = 'HKLM\SOFTWARE\Microsoft\Wbem'; Personal = @() }
    RegOle                = @{ Name = 'registry/ole.reg'; RegistryKey = 'HKLM\SOFTWARE\Microsoft\Ole'; Personal = @('account SIDs') }
    RegRpc                = @{ Name = 'registry/rpc.reg'; RegistryKey = 'HKLM\SOFTWARE\Microsoft\Rpc'; Personal = @() }
    RegRpcPolicy          = @{ Name = 'registry/rpc-policy.reg'; RegistryKey = 'HKLM\SOFTWARE\Policies\Microsoft\Windows NT\Rpc'; Personal = @() }
    RegWmiAppId           = @{ Name = 'registry/wmi-appid.reg'; RegistryKey = 'HKLM\SOFTWARE\Classes\AppID\{8BC3F05E-D86B-11D0-A075-00C04FB68820}'; Personal = @('account SIDs') }
    RegProviderClsids     = @{ Name = 'registry/provider-clsids.reg'; RegistryKey = 'HKLM\SOFTWARE\Classes\CLSID'; Personal = @() }
    RegUacPolicy          = @{ Name = 'registry/uac-policy.reg'; RegistryKey = 'HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System'; Personal = @() }
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
    RepositoryListing     = @{ Name = 'files/repository.json'; RegistryKey = ''; Personal = @() }
    AutorecoverListing    = @{ Name = 'files/autorecover-mofs.json'; RegistryKey = ''; Personal = @() }
    WmiIdentity           = @{ Name = 'wmi/identity.json'; RegistryKey = ''; Personal = @('host name', 'domain name') }
    WmiNamespaces         = @{ Name = 'wmi/namespaces.json'; RegistryKey = ''; Personal = @('account SIDs') }
    WmiProviders          = @{ Name = 'wmi/providers.json'; RegistryKey = ''; Personal = @() }
    WmiQuotas             = @{ Name = 'wmi/quotas.json'; RegistryKey = ''; Personal = @() }
    WmiProviderHosts      = @{ Name = 'wmi/provider-hosts.json'; RegistryKey = ''; Personal = @('user names') }
    WmiSubscriptions      = @{ Name = 'wmi/subscriptions.json'; RegistryKey = ''; Personal = @('account SIDs', 'command lines') }
    RepositoryCopy        = @{ Name = 'repository'; RegistryKey = ''; Personal = @('anything applications stored in WMI') }
}
# END ARTIFACTS

$script:Entries = New-Object System.Collections.ArrayList
$script:WmiAlive = $false
$script:WmiError = ''
$script:Namespaces = @()

# --- helpers -------------------------------------------------------------------------------------

function Get-ArtifactPath {
    param([Parameter(Mandatory = $true)][string]$Key)
    $path = Join-Path $OutputPath ($Artifacts[$Key].Name -replace '/', '\')
    $parent = Split-Path -Parent $path
    if (-not (Test-Path -LiteralPath $parent)) {
        New-Item -ItemType Directory -Path $parent -Force | Out-Null
    }
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
    if ($null -ne $ExitCode) { $entry.exit_code = [int]$ExitCode }
    [void]$script:Entries.Add($entry)
    Write-Verbose ("{0,-45} {1} {2}" -f $Artifacts[$Key].Name, $Status, $Message)
}

function Write-Utf8File {
    param([string]$Path, [string]$Text)
    [System.IO.File]::WriteAllText($Path, $Text, (New-Object System.Text.UTF8Encoding $false))
}

function Write-JsonArtifact {
    param([string]$Key, $Data)
    Write-Utf8File -Path (Get-ArtifactPath $Key) -Text (ConvertTo-Json -InputObject $Data -Depth 8)
}

function Invoke-Step {
    <# Run one collection step; any error is recorded against the artifact, never stops the collection. #>
    param([string]$Key, [scriptblock]$Body)
    $watch = [System.Diagnostics.Stopwatch]::StartNew()
    try {
        $result = & $Body
        $status = 'ok'; $message = ''; $exitCode = $null
        if ($result -is [hashtable]) {
            if ($result.ContainsKey('Status')) { $status = $result.Status }
            if ($result.ContainsKey('Message')) { $message = $result.Message }
            if ($result.ContainsKey('ExitCode')) { $exitCode = $result.ExitCode }
        }
        Add-Entry -Key $Key -Status $status -Message $message -DurationMs $watch.ElapsedMilliseconds -ExitCode $exitCode
    }
    catch {
        $text = ($_.Exception.Message -replace '\s+', ' ').Trim()
        $status = if ($text -like 'timeout*') { 'timeout' } else { 'failed' }
        Add-Entry -Key $Key -Status $status -Message $text -DurationMs $watch.ElapsedMilliseconds
    }
}

function Invoke-Native {
    <# Run an external program with a time limit; returns @{ ExitCode; Output } (stdout then stderr). #>
    param([string]$FilePath, [string]$Arguments, [int]$TimeoutSeconds = $StepTimeoutSeconds)
    $info = New-Object System.Diagnostics.ProcessStartInfo
    $info.FileName = $FilePath
    $info.Arguments = $Arguments
    $info.UseShellExecute = $false
    $info.CreateNoWindow = $true
    $info.RedirectStandardOutput = $true
    $info.RedirectStandardError = $true
    $oem = [System.Text.Encoding]::GetEncoding([System.Globalization.CultureInfo]::CurrentCulture.TextInfo.OEMCodePage)
    $info.StandardOutputEncoding = $oem
    $info.StandardErrorEncoding = $oem
    $process = [System.Diagnostics.Process]::Start($info)
    $stdout = $process.StandardOutput.ReadToEndAsync()
    $stderr = $process.StandardError.ReadToEndAsync()
    if (-not $process.WaitForExit($TimeoutSeconds * 1000)) {
        try { $process.Kill() } catch { Write-Verbose "could not stop $FilePath" }
        throw "timeout: $FilePath $Arguments did not finish within $TimeoutSeconds s"
    }
    $process.WaitForExit()
    return @{ ExitCode = $process.ExitCode; Output = ($stdout.Result + $stderr.Result) }
}

function Invoke-Bounded {
    <# Run a script block in its own runspace with a time limit (WMI calls can hang). #>
    param([scriptblock]$ScriptBlock, [object[]]$ArgumentList = @(), [int]$TimeoutSeconds = $StepTimeoutSeconds)
    $shell = [PowerShell]::Create()
    try {
        [void]$shell.AddScript($ScriptBlock.ToString())
        foreach ($argument in $ArgumentList) { [void]$shell.AddArgument($argument) }
        $handle = $shell.BeginInvoke()
        if (-not $handle.AsyncWaitHandle.WaitOne($TimeoutSeconds * 1000)) {
            [void]$shell.BeginStop($null, $null)
            throw "timeout: no answer within $TimeoutSeconds s"
        }
        $output = $shell.EndInvoke($handle)
        if ($shell.HadErrors -and $output.Count -eq 0) {
            throw ($shell.Streams.Error | Select-Object -First 1).Exception.Message
        }
        return $output
    }
    finally {
        if ($shell.InvocationStateInfo.State -ne 'Running') { $shell.Dispose() }
    }
}

# --- event logs ----------------------------------------------------------------------------------

function Export-EventLog {
    param([string]$Key)
    Invoke-Step $Key {
        $target = Get-ArtifactPath $Key
        $channel = [System.IO.Path]::GetFileNameWithoutExtension($Artifacts[$Key].Name) -replace '%4', '/'
        $run = Invoke-Native 'wevtutil.exe' ('epl "{0}" "{1}" /ow:true' -f $channel, $target)
        if ($run.ExitCode -ne 0) { throw ('wevtutil epl exit {0}: {1}' -f $run.ExitCode, $run.Output.Trim()) }
        @{ ExitCode = $run.ExitCode }
    }
}

# --- registry ------------------------------------------------------------------------------------

function Test-RegistryKey {
    param([string]$Key)
    return Test-Path -LiteralPath ('Registry::' + ($Key -replace '^HKLM\\', 'HKEY_LOCAL_MACHINE\'))
}

function Export-RegistryKeys {
    <# reg.exe export of one or more keys into one UTF-16LE .reg file; `CoverKey` heads the file when set,
       saying the export vouches for that key's subtree (only the listed subkeys exist in it). #>
    param([string]$Target, [string[]]$Keys, [string]$CoverKey = '')
    $scratch = Join-Path $OutputPath '.scratch'
    New-Item -ItemType Directory -Path $scratch -Force | Out-Null
    $body = New-Object System.Text.StringBuilder
    $failures = @()
    $index = 0
    foreach ($key in $Keys) {
        $index++
        $part = Join-Path $scratch ('part{0}.reg' -f $index)
        $run = Invoke-Native 'reg.exe' ('export "{0}" "{1}" /y' -f $key, $part)
        if ($run.ExitCode -ne 0) { $failures += ('{0}: {1}' -f $key, $run.Output.Trim()); continue }
        $text = [System.IO.File]::ReadAllText($part, [System.Text.Encoding]::Unicode)
        $lines = $text -split "`r`n", 2
        [void]$body.Append($lines[1])
        Remove-Item -LiteralPath $part -Force
    }
    if ($failures.Count -eq $Keys.Count) { throw ($failures -join '; ') }
    $head = "Windows Registry Editor Version 5.00`r`n`r`n"
    if ($CoverKey) { $head += ('[{0}]' -f ($CoverKey -replace '^HKLM\\', 'HKEY_LOCAL_MACHINE\')) + "`r`n`r`n" }
    [System.IO.File]::WriteAllText($Target, $head + $body.ToString().TrimStart("`r", "`n"), [System.Text.Encoding]::Unicode)
    if ($failures.Count -gt 0) { return @{ Status = 'ok'; Message = ('partial: ' + ($failures -join '; ')) } }
    return @{ Status = 'ok' }
}

function Export-RegistryArtifact {
    param([string]$Key)
    Invoke-Step $Key {
        $registryKey = $Artifacts[$Key].RegistryKey
        if (-not (Test-RegistryKey $registryKey)) { return @{ Status = 'absent'; Message = "$registryKey does not exist" } }
        Export-RegistryKeys -Target (Get-ArtifactPath $Key) -Keys @($registryKey)
    }
}

function Export-ServiceKeys {
    Invoke-Step 'RegServices' {
        $root = $Artifacts['RegServices'].RegistryKey
        $names = New-Object System.Collections.ArrayList
        foreach ($name in $WmiServices) { [void]$names.Add($name) }
        foreach ($service in Get-ChildItem -LiteralPath ('Registry::HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Services')) {
            $depends = (Get-ItemProperty -LiteralPath $service.PSPath -Name DependOnService -ErrorAction SilentlyContinue).DependOnService
            if ($depends -and ($depends -contains 'Winmgmt') -and -not ($names -contains $service.PSChildName)) {
                [void]$names.Add($service.PSChildName)
            }
        }
        $keys = @($names | ForEach-Object { "$root\$_" } | Where-Object { Test-RegistryKey $_ })
        Export-RegistryKeys -Target (Get-ArtifactPath 'RegServices') -Keys $keys -CoverKey $root
    }
}

function Export-ProviderClsids {
    param([string[]]$Clsids)
    Invoke-Step 'RegProviderClsids' {
        if (-not $script:WmiAlive) { throw "the provider list comes from WMI, which did not answer: $script:WmiError" }
        $root = $Artifacts['RegProviderClsids'].RegistryKey
        $keys = @($Clsids | Sort-Object -Unique | ForEach-Object { "$root\$_" } | Where-Object { Test-RegistryKey $_ })
        if ($keys.Count -eq 0) {
            $head = "Windows Registry Editor Version 5.00`r`n`r`n[" + ($root -replace '^HKLM\\', 'HKEY_LOCAL_MACHINE\') + "]`r`n"
            [System.IO.File]::WriteAllText((Get-ArtifactPath 'RegProviderClsids'), $head, [System.Text.Encoding]::Unicode)
            return @{ Status = 'ok'; Message = 'no provider CLSID is registered' }
        }
        Export-RegistryKeys -Target (Get-ArtifactPath 'RegProviderClsids') -Keys $keys -CoverKey $root
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
    return Join-Path $env:windir 'System32\wbem'
}

function Get-RepositoryFolder {
    $cimom = Get-ItemProperty -LiteralPath 'Registry::HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Wbem\CIMOM' -ErrorAction SilentlyContinue
    $folder = $null
    if ($cimom -and $cimom.'Repository Directory') { $folder = [Environment]::ExpandEnvironmentVariables($cimom.'Repository Directory') }
    if (-not $folder) { $folder = Join-Path (Get-WbemFolder) 'Repository' }
    return $folder
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
                        name     = $_.FullName.Substring($folder.TrimEnd('\').Length + 1)
                        size     = $_.Length
                        modified = $_.LastWriteTimeUtc.ToString('yyyy-MM-ddTHH:mm:ssZ')
                    }
                })
            $errors = @($listErrors | ForEach-Object { $_.Exception.Message })
        }
        else {
            $errors += "$folder does not exist"
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

function Save-AutorecoverListing {
    Invoke-Step 'AutorecoverListing' {
        $cimom = Get-ItemProperty -LiteralPath 'Registry::HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Wbem\CIMOM' -ErrorAction Stop
        $mofs = @($cimom.'Autorecover MOFs' | Where-Object { $_ } | ForEach-Object {
                $expanded = [Environment]::ExpandEnvironmentVariables($_)
                [ordered]@{ path = $_; expanded = $expanded; exists = [bool](Test-Path -LiteralPath $expanded -PathType Leaf) }
            })
        Write-JsonArtifact 'AutorecoverListing' ([ordered]@{
                source = 'HKLM\SOFTWARE\Microsoft\Wbem\CIMOM!Autorecover MOFs'
                mofs   = $mofs
                errors = @()
            })
    }
}

# --- WMI queries (only when WMI answers) ---------------------------------------------------------

$CimQuery = {
    param($Namespace, $ClassName, $TimeoutSec)
    Get-CimInstance -Namespace $Namespace -ClassName $ClassName -OperationTimeoutSec $TimeoutSec -ErrorAction Stop
}

function Get-Instances {
    param([string]$Namespace, [string]$ClassName)
    return @(Invoke-Bounded -ScriptBlock $CimQuery -ArgumentList @($Namespace, $ClassName, [Math]::Max(5, $StepTimeoutSeconds - 5)))
}

function ConvertTo-ReferenceText {
    <# A reference property (a CimInstance of the referenced object, or already text) as an object path. #>
    param($Value)
    if ($null -eq $Value) { return '' }
    if ($Value -is [Microsoft.Management.Infrastructure.CimInstance]) {
        $keys = @($Value.CimInstanceProperties | Where-Object { $_.Value -ne $null -and $_.Flags -match 'Key' })
        if ($keys.Count -eq 0) { $keys = @($Value.CimInstanceProperties | Where-Object { $_.Name -eq 'Name' }) }
        $pairs = @($keys | ForEach-Object { '{0}="{1}"' -f $_.Name, ([string]$_.Value -replace '\\', '\\' -replace '"', '\"') })
        return '{0}.{1}' -f $Value.CimClass.CimClassName, ($pairs -join ',')
    }
    return [string]$Value
}

function ConvertTo-SidText {
    param($Bytes)
    if ($null -eq $Bytes -or $Bytes.Count -eq 0) { return '' }
    try { return (New-Object System.Security.Principal.SecurityIdentifier([byte[]]$Bytes, 0)).Value } catch { return '' }
}

function Test-Wmi {
    try {
        $null = Invoke-Bounded -ScriptBlock { Get-CimInstance -ClassName Win32_OperatingSystem -OperationTimeoutSec 20 -ErrorAction Stop } -TimeoutSeconds 30
        $script:WmiAlive = $true
    }
    catch {
        $script:WmiError = ($_.Exception.Message -replace '\s+', ' ').Trim()
    }
}

function Invoke-WmiStep {
    param([string]$Key, [scriptblock]$Body)
    if (-not $script:WmiAlive) {
        Add-Entry -Key $Key -Status 'failed' -Message "WMI did not answer: $script:WmiError"
        return
    }
    Invoke-Step $Key $Body
}

function Save-Identity {
    Invoke-WmiStep 'WmiIdentity' {
        $system = Get-Instances 'root\cimv2' 'Win32_ComputerSystem' | Select-Object -First 1
        $os = Get-Instances 'root\cimv2' 'Win32_OperatingSystem' | Select-Object -First 1
        Write-JsonArtifact 'WmiIdentity' ([ordered]@{
                ComputerSystem  = [ordered]@{ Name = $system.Name; Domain = $system.Domain; DomainRole = [int]$system.DomainRole; PartOfDomain = [bool]$system.PartOfDomain }
                OperatingSystem = [ordered]@{ Caption = $os.Caption; Version = $os.Version; BuildNumber = $os.BuildNumber; OSLanguage = $os.OSLanguage }
                TimeZone        = [TimeZoneInfo]::Local.Id
                UICulture       = (Get-UICulture).Name
                errors          = @()
            })
    }
}

function Find-Namespaces {
    $found = New-Object System.Collections.ArrayList
    $errors = New-Object System.Collections.ArrayList
    $queue = New-Object System.Collections.Queue
    $queue.Enqueue('root')
    while ($queue.Count -gt 0 -and $found.Count -lt $MaxNamespaces) {
        $namespace = $queue.Dequeue()
        [void]$found.Add($namespace)
        try {
            foreach ($child in Get-Instances $namespace '__NAMESPACE') { $queue.Enqueue("$namespace\$($child.Name)") }
        }
        catch { [void]$errors.Add([ordered]@{ namespace = $namespace; error = $_.Exception.Message }) }
    }
    return @{ Names = @($found); Errors = @($errors) }
}

function Save-Namespaces {
    Invoke-WmiStep 'WmiNamespaces' {
        $walk = Find-Namespaces
        $script:Namespaces = $walk.Names
        $items = foreach ($namespace in $walk.Names) {
            $item = [ordered]@{ name = $namespace; sddl = ''; error = '' }
            try {
                $sd = Invoke-Bounded -ScriptBlock {
                    param($ns)
                    (Invoke-CimMethod -Namespace $ns -ClassName __SystemSecurity -MethodName GetSD -ErrorAction Stop).SD
                } -ArgumentList @($namespace)
                $sddl = Invoke-Bounded -ScriptBlock {
                    param($bytes)
                    (Invoke-CimMethod -Namespace 'root\cimv2' -ClassName Win32_SecurityDescriptorHelper -MethodName BinarySDToSDDL -Arguments @{ BinarySD = [byte[]]$bytes } -ErrorAction Stop).SDDL
                } -ArgumentList @(, [byte[]]$sd)
                $item.sddl = [string]($sddl | Select-Object -First 1)
            }
            catch { $item.error = $_.Exception.Message }
            $item
        }
        Write-JsonArtifact 'WmiNamespaces' ([ordered]@{ namespaces = @($items); errors = $walk.Errors })
    }
}

function Save-Providers {
    Invoke-WmiStep 'WmiProviders' {
        $providers = New-Object System.Collections.ArrayList
        $errors = New-Object System.Collections.ArrayList
        foreach ($namespace in $script:Namespaces) {
            try {
                $instances = Get-Instances $namespace '__Win32Provider'
                if ($instances.Count -eq 0) { continue }
                $registrations = @{}
                foreach ($registration in Get-Instances $namespace '__ProviderRegistration') {
                    $provider = ConvertTo-ReferenceText $registration.provider
                    $name = ($provider -replace '^[^=]*="?', '' -replace '"$', '').ToLowerInvariant()
                    if (-not $registrations.ContainsKey($name)) { $registrations[$name] = New-Object System.Collections.ArrayList }
                    [void]$registrations[$name].Add($registration.CimClass.CimClassName)
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
    }
}

function Save-Quotas {
    Invoke-WmiStep 'WmiQuotas' {
        $quota = Get-Instances 'root' '__ProviderHostQuotaConfiguration' | Select-Object -First 1
        $data = [ordered]@{ errors = @() }
        foreach ($name in 'ThreadsPerHost', 'HandlesPerHost', 'ProcessLimitAllHosts', 'MemoryPerHost', 'MemoryAllHosts') {
            $data[$name] = $quota.$name
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
    Invoke-WmiStep 'WmiSubscriptions' {
        $data = [ordered]@{ filters = @(); consumers = @(); bindings = @(); timers = @(); errors = @() }
        foreach ($namespace in $script:Namespaces) {
            try {
                foreach ($filter in Get-Instances $namespace '__EventFilter') {
                    $data.filters += [ordered]@{ namespace = $namespace; name = $filter.Name; query = $filter.Query
                        query_language = $filter.QueryLanguage; event_namespace = $filter.EventNamespace
                        creator_sid = ConvertTo-SidText $filter.CreatorSID }
                }
                foreach ($consumer in Get-Instances $namespace '__EventConsumer') {
                    $properties = [ordered]@{}
                    foreach ($property in $consumer.CimInstanceProperties) {
                        if ($property.Name -in 'Name', 'CreatorSID', 'MachineName', 'MaximumQueueSize') { continue }
                        if ($property.Name -match $SecretPropertyPattern -or $null -eq $property.Value) { continue }
                        $properties[$property.Name] = [string]$property.Value
                    }
                    $data.consumers += [ordered]@{ namespace = $namespace; class = $consumer.CimClass.CimClassName
                        name = $consumer.Name; properties = $properties; creator_sid = ConvertTo-SidText $consumer.CreatorSID }
                }
                foreach ($binding in Get-Instances $namespace '__FilterToConsumerBinding') {
                    $data.bindings += [ordered]@{ namespace = $namespace; filter = ConvertTo-ReferenceText $binding.Filter
                        consumer = ConvertTo-ReferenceText $binding.Consumer }
                }
                foreach ($timer in Get-Instances $namespace '__TimerInstruction') {
                    $data.timers += [ordered]@{ namespace = $namespace; class = $timer.CimClass.CimClassName
                        timer_id = $timer.TimerId; interval_ms = $timer.IntervalBetweenEvents }
                }
            }
            catch { $data.errors += [ordered]@{ namespace = $namespace; error = $_.Exception.Message } }
        }
        Write-JsonArtifact 'WmiSubscriptions' $data
    }
}

# --- optional: the repository through a volume shadow copy --------------------------------------

function Copy-RepositoryFromShadow {
    Invoke-Step 'RepositoryCopy' {
        if (-not $script:WmiAlive) { throw "creating a shadow copy needs WMI (Win32_ShadowCopy), which did not answer: $script:WmiError" }
        $folder = Get-RepositoryFolder
        $volume = [System.IO.Path]::GetPathRoot($folder)
        $created = Invoke-CimMethod -ClassName Win32_ShadowCopy -MethodName Create -Arguments @{ Volume = $volume; Context = 'ClientAccessible' } -ErrorAction Stop
        if ($created.ReturnValue -ne 0) { throw "Win32_ShadowCopy.Create returned $($created.ReturnValue)" }
        try {
            $shadow = Get-CimInstance -ClassName Win32_ShadowCopy -Filter ("ID='{0}'" -f $created.ShadowID) -ErrorAction Stop
            $source = $shadow.DeviceObject + '\' + $folder.Substring($volume.Length)
            $target = Get-ArtifactPath 'RepositoryCopy'
            New-Item -ItemType Directory -Path $target -Force | Out-Null
            foreach ($name in [System.IO.Directory]::GetFiles($source)) {
                [System.IO.File]::Copy($name, (Join-Path $target ([System.IO.Path]::GetFileName($name))), $false)
            }
        }
        finally {
            Get-CimInstance -ClassName Win32_ShadowCopy -Filter ("ID='{0}'" -f $created.ShadowID) -ErrorAction SilentlyContinue |
                Remove-CimInstance -ErrorAction SilentlyContinue
        }
    }
}

# --- the collection ------------------------------------------------------------------------------

if (Test-Path -LiteralPath $OutputPath) {
    Write-Error "$OutputPath exists already; name a new folder with -OutputPath"
    exit 2
}
New-Item -ItemType Directory -Path $OutputPath -Force | Out-Null
$OutputPath = (Resolve-Path -LiteralPath $OutputPath).Path
$started = [DateTime]::UtcNow
$script:ProviderClsids = @()

foreach ($key in 'WmiActivityLog', 'ApplicationLog', 'SystemLog') { Export-EventLog $key }
foreach ($key in 'RegWbem', 'RegOle', 'RegRpc', 'RegRpcPolicy', 'RegWmiAppId', 'RegUacPolicy', 'RegFirewallPolicy', 'RegFirewallGpo') {
    Export-RegistryArtifact $key
}
Export-ServiceKeys
Save-CommandOutput 'VerifyRepository' (Join-Path (Get-WbemFolder) 'winmgmt.exe') '/verifyrepository'
foreach ($service in $WmiServices) {
    Save-CommandOutput "ScQc$service" 'sc.exe' "qc $service 8192"
    Save-CommandOutput "ScQueryEx$service" 'sc.exe' "queryex $service"
    Save-CommandOutput "ScSdShow$service" 'sc.exe' "sdshow $service"
}
Save-CommandOutput 'FirewallRules' 'netsh.exe' 'advfirewall firewall show rule name=all verbose'
Save-CommandOutput 'FirewallProfiles' 'netsh.exe' 'advfirewall show allprofiles state'
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
if ($ShadowCopy) { Copy-RepositoryFromShadow } else { Add-Entry -Key 'RepositoryCopy' -Status 'skipped' -Message 'run with -ShadowCopy to copy the repository' }

$scratch = Join-Path $OutputPath '.scratch'
if (Test-Path -LiteralPath $scratch) { Remove-Item -LiteralPath $scratch -Recurse -Force }

$written = @($script:Entries | Where-Object { $_.status -eq 'ok' } | ForEach-Object { $_.name })
$personal = New-Object System.Collections.ArrayList
foreach ($key in $Artifacts.Keys) {
    if ($key -eq 'Manifest' -or $written -contains $Artifacts[$key].Name) {
        foreach ($item in $Artifacts[$key].Personal) { if (-not $personal.Contains($item)) { [void]$personal.Add($item) } }
    }
}
$principal = New-Object System.Security.Principal.WindowsPrincipal([System.Security.Principal.WindowsIdentity]::GetCurrent())
$manifest = [ordered]@{
    schema         = $BundleSchema
    tool           = 'Collect-WmiDoctor'
    version        = $CollectorVersion
    host           = $env:COMPUTERNAME
    collected_at   = $started.ToString('yyyy-MM-ddTHH:mm:ssZ')
    finished_at    = [DateTime]::UtcNow.ToString('yyyy-MM-ddTHH:mm:ssZ')
    powershell     = $PSVersionTable.PSVersion.ToString()
    ui_culture     = (Get-UICulture).Name
    elevated       = $principal.IsInRole([System.Security.Principal.WindowsBuiltInRole]::Administrator)
    wmi_answered   = $script:WmiAlive
    personal_data  = @($personal)
    artifacts      = @($script:Entries)
}
Write-Utf8File -Path (Get-ArtifactPath 'Manifest') -Text (ConvertTo-Json -InputObject $manifest -Depth 6)

if (-not $NoZip) {
    Add-Type -AssemblyName System.IO.Compression.FileSystem
    [System.IO.Compression.ZipFile]::CreateFromDirectory($OutputPath, "$OutputPath.zip")
    Write-Output "wmidoctor bundle: $OutputPath (and $OutputPath.zip)"
}
else {
    Write-Output "wmidoctor bundle: $OutputPath"
}
exit 0
