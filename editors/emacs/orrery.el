;;; orrery.el --- CircleCI configuration through Orrery's language server -*- lexical-binding: t; -*-

;; Version: 0.1.0
;; Package-Requires: ((emacs "27.1") (eglot "1.9"))
;; Keywords: languages, tools
;; SPDX-License-Identifier: MIT OR Apache-2.0

;;; Commentary:

;; `circleci-yaml-mode' (derived from `yaml-mode' when it is installed, else `prog-mode') for
;; `.circleci/*.yml', split configs under `.circleci/config/' and orb sources, served by
;; `orrery lsp' through eglot: diagnostics with rule codes, hover, completion, go to definition
;; into orb sources on disk, rename.  `orrery-show-compiled' shows the compiled config beside
;; the source and refreshes it as you type.
;;
;;   (require 'orrery)
;;   (add-hook 'circleci-yaml-mode-hook #'eglot-ensure)

;;; Code:

(require 'cl-lib)
(require 'eglot)
(require 'jsonrpc)
(require 'yaml-mode nil t)

(defgroup orrery nil
  "CircleCI configuration through Orrery's language server."
  :group 'languages
  :prefix "orrery-")

(defcustom orrery-executable nil
  "The `orrery' binary; nil looks for `orrery' on `exec-path'."
  :type '(choice (const :tag "Find on exec-path" nil) file))

(defcustom orrery-orb-paths nil
  "Local orb registries (`--orb-path'), relative to the project root."
  :type '(repeat directory))

(defcustom orrery-online nil
  "Let `orrery-run-job' and `orrery-pin-orbs' ask the orb registry (`--online').
The language server itself never waits on the network."
  :type 'boolean)

(defcustom orrery-rules nil
  "Rule levels by name or code, e.g. ((\"unused-job\" . \"off\") (\"L1102\" . \"error\")).
Sent to the server as `rules'; they apply over the project's `.orrery.toml'."
  :type '(alist :key-type string
                :value-type (choice (const "off") (const "note") (const "warning") (const "error"))))

(defcustom orrery-compiled-delay 0.15
  "Seconds of quiet after a change before the compiled view asks again."
  :type 'number)

(defconst orrery--install-hint
  (concat "Install it with `cargo install --locked --path crates/orrery' "
          "in an Orrery checkout, or set `orrery-executable'.")
  "What to do when the binary is missing.")

(defun orrery--executable ()
  "The binary to run.
Signals a `user-error' saying how to install it when there is none."
  (if orrery-executable
      (let ((file (expand-file-name orrery-executable)))
        (if (file-executable-p file)
            file
          (user-error "Orrery: %s is not an executable file.  %s" file orrery--install-hint)))
    (or (executable-find "orrery")
        (user-error "Orrery: `orrery' was not found on exec-path.  %s" orrery--install-hint))))

(defun orrery-server-settings (&optional root)
  "What the server gets as initializationOptions and `orrery' settings.
Orb paths are made absolute against ROOT (default: `default-directory')."
  (let ((rules (make-hash-table :test #'equal)))
    (dolist (rule orrery-rules)
      (puthash (car rule) (cdr rule) rules))
    (list :orbPaths (vconcat (mapcar (lambda (dir) (expand-file-name dir root)) orrery-orb-paths))
          :online (if orrery-online t :json-false)
          :rules rules)))

(defun orrery--server-contact (&optional _interactive)
  "The eglot contact: `orrery lsp', the orb paths and initializationOptions."
  (append (list (orrery--executable) "lsp")
          (cl-mapcan (lambda (dir) (list "--orb-path" (expand-file-name dir))) orrery-orb-paths)
          (list :initializationOptions (lambda (_server) (orrery-server-settings)))))

(defun orrery--workspace-configuration (_server)
  "The `orrery' settings section.
For `workspace/configuration' and didChangeConfiguration."
  (list :orrery (orrery-server-settings)))

(defmacro orrery--define-mode (parent)
  "Define `circleci-yaml-mode' derived from PARENT."
  `(define-derived-mode circleci-yaml-mode ,parent "CircleCI"
     "Major mode for CircleCI configs and orb sources.
Served by `orrery lsp' through eglot."
     (unless eglot-workspace-configuration
       (setq-local eglot-workspace-configuration #'orrery--workspace-configuration))))

(declare-function circleci-yaml-mode "orrery")
(if (fboundp 'yaml-mode)
    (orrery--define-mode yaml-mode)
  (orrery--define-mode prog-mode))

(defun orrery--orb-source-p (file)
  "Non-nil when FILE is an orb element beside the orb's `@orb.yml'."
  (let ((src (file-name-directory (directory-file-name (file-name-directory file)))))
    (or (file-exists-p (expand-file-name "@orb.yml" src))
        (file-exists-p (expand-file-name "@orb.yaml" src)))))

(defun orrery-orb-element-mode ()
  "`circleci-yaml-mode' for an orb source element, the usual YAML mode elsewhere."
  (if (and buffer-file-name (orrery--orb-source-p buffer-file-name))
      (circleci-yaml-mode)
    (if (fboundp 'yaml-mode) (yaml-mode) (fundamental-mode))))

;;;###autoload
(progn
  (add-to-list 'auto-mode-alist '("/\\.circleci/[^/]+\\.ya?ml\\'" . circleci-yaml-mode))
  (add-to-list 'auto-mode-alist '("/\\.circleci/config/.+\\.ya?ml\\'" . circleci-yaml-mode))
  (add-to-list 'auto-mode-alist '("/src/@orb\\.ya?ml\\'" . circleci-yaml-mode))
  (add-to-list 'auto-mode-alist
               '("/src/\\(?:commands\\|jobs\\|executors\\|examples\\)/[^/]+\\.ya?ml\\'" . orrery-orb-element-mode)))

(add-to-list 'eglot-server-programs '(circleci-yaml-mode . orrery--server-contact))

;;; The compiled view

(defvar-local orrery--compiled-source nil
  "In a compiled view: the source buffer it shows.")

(defvar-local orrery--compiled-timer nil
  "In a source buffer: the pending refresh of its compiled view.")

(defvar-local orrery-compiled-tick nil
  "In a compiled view: the source's `buffer-chars-modified-tick' its text answers.")

(defun orrery-render-compiled (result)
  "The text a compiled view shows for an `orrery/compiledConfig' RESULT.
RESULT is a plist (:yaml TEXT-OR-NIL :errors COUNT)."
  (let ((yaml (plist-get result :yaml))
        (errors (or (plist-get result :errors) 0)))
    (cond ((stringp yaml) yaml)
          ((zerop errors) "# The config does not compile.\n")
          (t (format "# The config does not compile: %d %s (see the diagnostics).\n"
                     errors (if (= errors 1) "error" "errors"))))))

(defun orrery--compiled-buffer-name (source)
  "The name of SOURCE's compiled view."
  (format "*orrery compiled: %s*" (buffer-name source)))

(defun orrery--show-text (view text tick)
  "Replace VIEW's text with TEXT, answering the source's TICK, keeping point."
  (when (buffer-live-p view)
    (with-current-buffer view
      (let ((inhibit-read-only t)
            (point (point)))
        (erase-buffer)
        (insert text)
        (goto-char (min point (point-max)))
        (set-buffer-modified-p nil)
        (setq orrery-compiled-tick tick)))))

(defconst orrery--content-modified -32801
  "The LSP error code for a request about a document that changed meanwhile.")

(defun orrery--refresh-compiled (source)
  "Ask the server for SOURCE's compiled config and show it in its view."
  (let ((view (get-buffer (orrery--compiled-buffer-name source))))
    (when (and (buffer-live-p source) (buffer-live-p view))
      (with-current-buffer source
        (let ((server (eglot-current-server))
              (tick (buffer-chars-modified-tick)))
          (if (not server)
              (orrery--show-text view "# The Orrery language server is not attached to this buffer.\n" tick)
            ;; eglot sends changes on an idle timer; the server must have them before it compiles.
            (eglot--signal-textDocument/didChange)
            (jsonrpc-async-request
             server :orrery/compiledConfig (list :textDocument (eglot--TextDocumentIdentifier))
             :success-fn (lambda (result) (orrery--show-text view (orrery-render-compiled result) tick))
             :error-fn (lambda (err)
                         (if (eql (plist-get err :code) orrery--content-modified)
                             ;; The text changed while the server compiled it: ask again.
                             (run-with-timer orrery-compiled-delay nil
                                             #'orrery--refresh-compiled source)
                           (orrery--show-text
                            view
                            (format "# The language server could not compile this config: %s\n"
                                    (plist-get err :message))
                            tick))))))))))

(defun orrery--schedule-compiled (&rest _)
  "After a change: refresh this buffer's compiled view once typing pauses."
  (when (get-buffer (orrery--compiled-buffer-name (current-buffer)))
    (when (timerp orrery--compiled-timer)
      (cancel-timer orrery--compiled-timer))
    (setq orrery--compiled-timer
          (run-with-timer orrery-compiled-delay nil #'orrery--refresh-compiled (current-buffer)))))

;;;###autoload
(defun orrery-show-compiled ()
  "Show the compiled config of this buffer in a read-only window beside it.
The view follows the buffer as you type."
  (interactive)
  (let* ((source (current-buffer))
         (view (get-buffer-create (orrery--compiled-buffer-name source))))
    (with-current-buffer view
      (if (fboundp 'yaml-mode) (yaml-mode) (fundamental-mode))
      (setq buffer-read-only t)
      (setq orrery--compiled-source source))
    (add-hook 'after-change-functions #'orrery--schedule-compiled nil t)
    (display-buffer view '((display-buffer-reuse-window display-buffer-in-side-window)
                           (side . right) (window-width . 0.5)))
    (orrery--refresh-compiled source)
    view))

;;; Project commands

(defun orrery--project-config ()
  "The project root and the config a project command acts on."
  (let* ((file (or buffer-file-name (expand-file-name ".circleci/config.yml")))
         (circleci (locate-dominating-file file ".circleci"))
         (root (expand-file-name (or circleci default-directory))))
    (list root
          (if (string-match-p "/\\.circleci/[^/]+\\.ya?ml\\'" file)
              file
            (expand-file-name ".circleci/config.yml" root)))))

(defun orrery--store-flags ()
  "Flags that make a CLI command see the same orbs as the server."
  (append (cl-mapcan (lambda (dir) (list "--orb-path" (expand-file-name dir))) orrery-orb-paths)
          (and orrery-online '("--online"))))

(defun orrery--run (name args)
  "Run the binary with ARGS in a compilation buffer called NAME."
  (pcase-let ((`(,root ,_) (orrery--project-config)))
    (let ((default-directory root))
      (compilation-start (mapconcat #'shell-quote-argument (cons (orrery--executable) args) " ")
                         t (lambda (_) name)))))

(defun orrery-job-names ()
  "The jobs of this buffer's config, from the server's document symbols."
  (when-let ((server (eglot-current-server)))
    (let ((symbols (jsonrpc-request server :textDocument/documentSymbol
                                    (list :textDocument (eglot--TextDocumentIdentifier)))))
      (cl-loop for symbol across symbols
               when (equal (plist-get symbol :name) "jobs")
               append (cl-loop for job across (or (plist-get symbol :children) [])
                               collect (plist-get job :name))))))

(defun orrery-run-job (job)
  "Run JOB locally with `orrery run --job'."
  (interactive (list (completing-read "Job to run locally: " (orrery-job-names))))
  (pcase-let ((`(,_ ,config) (orrery--project-config)))
    (orrery--run (format "*orrery run %s*" job)
                 (append (list "run" "--config" config "--job" job) (orrery--store-flags)))))

(defun orrery-fetch-orbs ()
  "Download the orbs the config uses into the user cache.
This is the one command that uses the network."
  (interactive)
  (pcase-let ((`(,_ ,config) (orrery--project-config)))
    (orrery--run "*orrery fetch*" (list "orb" "fetch" "--config" config))))

(defun orrery-pin-orbs ()
  "Pin the orbs the config uses in `.circleci/orbs.lock'."
  (interactive)
  (pcase-let ((`(,_ ,config) (orrery--project-config)))
    (orrery--run "*orrery lock*" (append (list "orb" "lock") (orrery--store-flags) (list config)))))

(provide 'orrery)
;;; orrery.el ends here
